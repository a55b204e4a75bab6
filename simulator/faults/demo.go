package faults

import (
	"net/http"
	"time"

	"github.com/quotaexporter/quota_exporter/simulator"
)

// StartDemo is simulator.StartDemo with an Injector in front of every
// simulator; it returns them by vendor name ("aiops", "vzicloud"…).
func StartDemo(now time.Time) (*simulator.Demo, map[string]*Injector, error) {
	injectors := map[string]*Injector{}
	demo, err := simulator.StartDemo(now, func(vendor string, sim simulator.Vendor) http.Handler {
		injectors[vendor] = Wrap(sim)
		return injectors[vendor]
	})
	return demo, injectors, err
}
