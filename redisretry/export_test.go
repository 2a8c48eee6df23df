package redisretry

// Internal forms for the tests.

// BucketLend is the Go bucket's exchange, for comparison with the script.
func BucketLend(capacity, threshold float64, ops [][3]int64) (lent []int64, left []float64) {
	b := newBucket(rules{capacity: capacity, threshold: threshold})
	for _, op := range ops {
		l, t := b.lend(op[0], op[1], op[2], micros())
		lent, left = append(lent, l), append(left, t)
	}
	return lent, left
}

// BudgetScript is the budget's script.
var BudgetScript = budgetScript
