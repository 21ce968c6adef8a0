package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// A config is what one run does, from the flags.
type config struct {
	Seed      int64         `json:"seed"`
	Profile   string        `json:"profile"`           // short or long; empty for an out-of-model run
	Fault     string        `json:"fault,omitempty"`   // the out-of-model fault to run, or empty
	Duration  time.Duration `json:"duration_ns"`       // how long the clients contend
	MinGrants int           `json:"min_grants"`        // fewer grants than this fail the run
	MaxGrants int           `json:"max_grants"`        // the clients stop at this many grants
	Clients   int           `json:"clients"`           // each its own redlock.Client and nodes
	Names     int           `json:"names"`             // lock names contended for
	TTL       time.Duration `json:"ttl_ns"`            // every client's ttl
	Fencing   string        `json:"fencing"`           // all, half or none of the clients
	Clock     string        `json:"clock"`             // clock faults: auto, on or off
	Limit     time.Duration `json:"limit_ns"`          // a hard bound on the whole run
	JSON      string        `json:"-"`                 // where to write the record, or empty
	Holder    bool          `json:"-"`                 // run as the paused holder's process
	HolderArg holderConfig  `json:"-"`                 // its settings
	Progress  time.Duration `json:"progress_every_ns"` // between two progress lines
	Quiet     bool          `json:"-"`                 // no progress lines
	Kinds     []string      `json:"fault_kinds"`       // in-model fault kinds the nemesis draws from
	MaxFaulty int           `json:"max_faulty_nodes"`  // nodes faulted at once, at most
	DriftPPM  int64         `json:"max_drift_ppm"`     // fastest in-model clock drift
}

// profiles are the in-model runs' defaults: short for CI, about two
// minutes; long for at least 10,000 grants.
var profiles = map[string]config{
	"short": {Duration: 2 * time.Minute, MinGrants: 300, MaxGrants: 20_000, Clients: 8, Names: 3},
	"long":  {Duration: 20 * time.Minute, MinGrants: 10_000, MaxGrants: 200_000, Clients: 12, Names: 4},
}

// outOfModel lists the out-of-model faults, in the order of the table in docs/testing.md.
var outOfModel = []string{"restart-without-persistence", "restart-clock-step", "eviction", "third-party-del",
	"clock-step", "paused-holder"}

// allKinds lists the in-model fault kinds.
var allKinds = []string{kindPause, kindKill, kindPartition, kindLatency, kindResets, kindClientKill, kindDrift,
	kindLinkCut, kindIsolate}

// parseFlags reads the flags into a config, or returns an error naming the
// bad one; usage goes to w.
func parseFlags(args []string, w io.Writer) (*config, error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(w)
	c := &config{}
	var kinds string
	fs.Int64Var(&c.Seed, "seed", 1, "the seed that decides the fault schedule and every client's choices")
	fs.StringVar(&c.Profile, "profile", "short", "in-model profile: short (about 2 minutes) or long (at least 10,000 grants)")
	fs.StringVar(&c.Fault, "fault", "", "run one out-of-model fault instead: "+strings.Join(outOfModel, ", "))
	fs.DurationVar(&c.Duration, "duration", 0, "how long the clients contend (default: the profile's)")
	fs.IntVar(&c.MinGrants, "min-grants", -1, "fewer grants than this fail the run (default: the profile's)")
	fs.IntVar(&c.Clients, "clients", 0, "clients contending, each with its own nodes (default: the profile's)")
	fs.IntVar(&c.Names, "names", 0, "lock names contended for (default: the profile's)")
	fs.DurationVar(&c.TTL, "ttl", 5*time.Second, "every client's ttl")
	fs.StringVar(&c.Fencing, "fencing", "half", "clients with fencing tokens: all, half or none")
	fs.StringVar(&c.Clock, "clock", "auto", "clock faults: auto (if the nodes' image has the clock shim), on (required) or off")
	fs.StringVar(&kinds, "faults", strings.Join(allKinds, ","), "in-model fault kinds to draw from, comma-separated")
	fs.DurationVar(&c.Limit, "limit", 0, "a hard bound on the whole run (default: the duration plus 5 minutes)")
	fs.StringVar(&c.JSON, "json", "", "write the run's record to this file as JSON")
	fs.DurationVar(&c.Progress, "progress", 15*time.Second, "time between two progress lines on stderr")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress lines")
	fs.BoolVar(&c.Holder, "holder", false, "internal: run as the paused holder's process of -fault paused-holder")
	fs.BoolVar(&c.HolderArg.Fenced, "holder-fencing", false, "internal: the paused holder takes a fencing token")
	fs.StringVar(&c.HolderArg.Name, "holder-name", "", "internal: the lock the paused holder takes")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return c, c.complete(set, kinds)
}

// complete fills the profile's defaults in and checks every setting.
func (c *config) complete(set map[string]bool, kinds string) error {
	if c.Holder {
		if c.HolderArg.Name == "" {
			return errors.New("-holder needs -holder-name")
		}
		c.HolderArg.TTL = c.TTL
		return nil
	}
	if c.Fault != "" {
		if !slices.Contains(outOfModel, c.Fault) {
			return fmt.Errorf("-fault %q: want one of %s", c.Fault, strings.Join(outOfModel, ", "))
		}
		for _, f := range []string{"profile", "duration", "min-grants", "clients", "names", "fencing", "faults"} {
			if set[f] {
				return fmt.Errorf("-%s is for in-model runs; an out-of-model fault (-fault) runs its own scenario", f)
			}
		}
		c.Profile = ""
	} else {
		p, ok := profiles[c.Profile]
		if !ok {
			return fmt.Errorf("-profile %q: want short or long", c.Profile)
		}
		c.MaxGrants = p.MaxGrants
		if !set["duration"] {
			c.Duration = p.Duration
		}
		if !set["min-grants"] {
			c.MinGrants = p.MinGrants
		}
		if !set["clients"] {
			c.Clients = p.Clients
		}
		if !set["names"] {
			c.Names = p.Names
		}
	}
	switch {
	case c.TTL < time.Second || c.TTL > time.Minute || c.TTL%time.Millisecond != 0:
		return fmt.Errorf("-ttl %v: want a whole number of milliseconds from 1s to 1m", c.TTL)
	case c.Fault == "" && (c.Duration < 10*time.Second || c.Duration > 2*time.Hour):
		return fmt.Errorf("-duration %v: want 10s to 2h", c.Duration)
	case c.Fault == "" && (c.Clients < 2 || c.Clients > 64):
		return fmt.Errorf("-clients %d: want 2 to 64", c.Clients)
	case c.Fault == "" && (c.Names < 1 || c.Names > 16):
		return fmt.Errorf("-names %d: want 1 to 16", c.Names)
	case c.Fault == "" && (c.MinGrants < 0 || c.MinGrants > c.MaxGrants):
		return fmt.Errorf("-min-grants %d: want 0 to %d", c.MinGrants, c.MaxGrants)
	case !slices.Contains([]string{"all", "half", "none"}, c.Fencing):
		return fmt.Errorf("-fencing %q: want all, half or none", c.Fencing)
	case !slices.Contains([]string{"auto", "on", "off"}, c.Clock):
		return fmt.Errorf("-clock %q: want auto, on or off", c.Clock)
	case c.Progress < time.Second || c.Progress > 20*time.Second:
		return fmt.Errorf("-progress %v: want 1s to 20s", c.Progress)
	case c.Limit < 0:
		return fmt.Errorf("-limit %v: want a positive duration", c.Limit)
	}
	for k := range strings.SplitSeq(kinds, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(allKinds, k) {
			return fmt.Errorf("-faults: unknown kind %q; want some of %s", k, strings.Join(allKinds, ","))
		}
		if !slices.Contains(c.Kinds, k) {
			c.Kinds = append(c.Kinds, k)
		}
	}
	if c.Limit == 0 {
		c.Limit = c.Duration + 5*time.Minute
		if c.Fault != "" {
			c.Limit = 5 * time.Minute
		}
	}
	c.MaxFaulty = 2    // a minority of the five nodes
	c.DriftPPM = 5_000 // half the library's default drift factor of 1%
	return nil
}

// fenced reports whether client i takes fencing tokens.
func (c *config) fenced(i int) bool {
	return c.Fencing == "all" || c.Fencing == "half" && i%2 == 1
}
