package riverx

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Worker returns w with r deciding its retries: r is the outermost of w's
// middleware, and w's NextRetry is r's, so that jobs of this kind follow
// r whatever the client's retry policy is. Work and Timeout are w's.
//
// Use it for a kind whose retries need their own policy (their own
// budget, breaker or limits). A client-wide Retrier installed as well
// stands aside for these jobs: the worker's decides.
func Worker[T river.JobArgs](r *Retrier, w river.Worker[T]) river.Worker[T] {
	return &worker[T]{Worker: w, r: r}
}

type worker[T river.JobArgs] struct {
	river.Worker[T]
	r *Retrier
}

// Middleware returns r followed by w's own middleware.
func (w *worker[T]) Middleware(job *rivertype.JobRow) []rivertype.WorkerMiddleware {
	return append([]rivertype.WorkerMiddleware{w.r}, w.Worker.Middleware(job)...)
}

// NextRetry is r's: the instant r chose for the job's next run.
func (w *worker[T]) NextRetry(job *river.Job[T]) time.Time {
	return w.r.NextRetry(job.JobRow)
}
