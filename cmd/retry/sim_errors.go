package main

import "strings"

// simFields maps the scenario fields the sim package names in its errors to
// the flags that set them.
var simFields = []struct{ field, flag string }{
	{"Open.Trigger.Start", "-outage-start"}, {"Open.Trigger.Length", "-outage"}, {"Open.Trigger.Magnitude", "-magnitude"},
	{"Open.Clients", "-clients"}, {"Open.Rate", "-rate"}, {"Open.Workers", "-workers"}, {"Open.Service", "-service"},
	{"Open.Queue", "-queue"}, {"Open.Hop", "-hop"}, {"Open.Timeout", "-timeout"}, {"Open.After", "-after"},
	{"Open.Bucket", "-bucket"}, {"Open.MaxEvents", "-max-events"},
	{"Herd.Clients", "-clients"}, {"Herd.Rate", "-rate"}, {"Herd.Burst", "-burst"}, {"Herd.Outage", "-outage"}, {"Herd.Hop", "-hop"},
	{"Herd.After", "-after"}, {"Herd.Bucket", "-bucket"}, {"Herd.MaxEvents", "-max-events"},
	{"OCC.Clients", "-clients"}, {"OCC.Trials", "-trials"}, {"OCC.MaxEvents", "-max-events"},
	{"Layers.Depth", "-layers"}, {"Layers.FailRate", "-fail-rate"}, {"Layers.Hop", "-hop"}, {"Layers.MaxEvents", "-max-events"},
	{"Layers.Trigger.Start", "-outage-start"}, {"Layers.Trigger.Length", "-outage"},
}

// flagOf returns "-flag: " for the flag behind a scenario error, or "".
func flagOf(err error) string {
	msg := err.Error()
	for _, f := range simFields {
		if strings.Contains(msg, f.field+" ") {
			return f.flag + ": "
		}
	}
	return ""
}
