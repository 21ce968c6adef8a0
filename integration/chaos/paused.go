package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

// A pausedVictim is the run's side of the paused holder's process (see
// holder.go): it records what the holder reports and does its reads and
// writes.
type pausedVictim struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	events  chan holderEvent // closed when the holder's stdout closes
	h       *history.Hold
	read    int64
	lostAt  time.Time // a lost signal that came before the grant was recorded
	done    bool
	exited  bool
	waitErr error
}

// startPausedVictim starts the holder's process and records its grant.
func startPausedVictim(p *phaseRun) (victim, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-holder", "-holder-name", p.name, "-ttl", oomTTL.String()}
	if p.spec.fencing {
		args = append(args, "-holder-fencing")
	}
	v := &pausedVictim{cmd: exec.Command(exe, args...), events: make(chan holderEvent, 16)}
	v.cmd.Stderr = os.Stderr
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the run
	if v.stdin, err = v.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := v.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the paused holder's process: %w", err)
	}
	go v.readEvents(stdout) // ends when the process's stdout closes
	ev, err := v.next("granted", time.Minute)
	if err != nil {
		return v, err
	}
	v.h, err = p.rec.Grant(history.Grant{Name: p.name, Holder: "paused-holder", At: fromMono(ev.Mono),
		Until: fromMono(ev.Until), Token: ev.Fence, Watched: true})
	if err != nil {
		return v, err
	}
	v.read = p.counter.Load()
	return v, nil
}

// readEvents passes the holder's events on until its stdout closes.
func (v *pausedVictim) readEvents(r io.Reader) {
	defer close(v.events)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev holderEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			v.events <- ev
		}
	}
}

// next waits for the event named want, for at most within, recording lost
// signals that come meanwhile.
func (v *pausedVictim) next(want string, within time.Duration) (holderEvent, error) {
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-v.events:
			switch {
			case !ok:
				return ev, fmt.Errorf("the paused holder's process ended before saying %s", want)
			case ev.Ev == want:
				return ev, nil
			case ev.Ev == "lost":
				v.lost(fromMono(ev.Mono))
			case ev.Ev == "failed":
				return ev, fmt.Errorf("the paused holder failed: %s", ev.Result)
			}
		case <-deadline:
			return holderEvent{}, fmt.Errorf("the paused holder did not say %s within %v", want, within)
		}
	}
}

// lost records the holder's lost signal.
func (v *pausedVictim) lost(at time.Time) {
	if v.h == nil {
		v.lostAt = at
		return
	}
	_ = v.h.Lost(at)
}

// pause tells the holder to check its hold and, once it waits to act,
// stops it with SIGSTOP and waits until it has stopped.
func (v *pausedVictim) pause() error {
	if !v.lostAt.IsZero() {
		_ = v.h.Lost(v.lostAt)
	}
	if _, err := fmt.Fprintln(v.stdin, "pause"); err != nil {
		return err
	}
	if _, err := v.next("pausing", 30*time.Second); err != nil {
		return err
	}
	if err := v.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	stat := fmt.Sprintf("/proc/%d/stat", v.cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return err
		}
		// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "T" {
			return nil
		}
	}
	return errors.New("the paused holder did not stop within 10s")
}

// window outlasts the stopped holder's keys, which expire by their ttl.
func (v *pausedVictim) window() time.Duration { return oomTTL + 5*time.Second }

// finish continues the holder, which writes at once, and has it release.
func (v *pausedVictim) finish(p *phaseRun) error {
	if err := v.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(v.stdin, "continue"); err != nil {
		return err
	}
	ev, err := v.next("wrote", time.Minute)
	if err != nil {
		return err
	}
	end := fromMono(ev.Mono)
	p.write(v.h, v.read)
	v.done = true
	if _, err := fmt.Fprintln(v.stdin, "release"); err != nil {
		return err
	}
	ev, err = v.next("released", time.Minute)
	if err != nil {
		return err
	}
	var rel error
	switch ev.Result {
	case "not-held":
		rel = redlock.ErrNotHeld
	case "unknown":
		rel = errors.New("release unknown")
	}
	p.lg.printf("  paused holder: continued after the contenders, wrote at once; %s", released(rel))
	// Lost signals may still come, until the process's stdout closes.
	drained := time.After(30 * time.Second)
drain:
	for {
		select {
		case ev, ok := <-v.events:
			if !ok {
				break drain
			}
			if ev.Ev == "lost" {
				v.lost(fromMono(ev.Mono))
			}
		case <-drained:
			_ = v.cmd.Process.Kill()
		}
	}
	v.exited, v.waitErr = true, v.cmd.Wait()
	return errors.Join(v.h.End(end, ending(false, rel)), v.waitErr)
}

// abort continues and kills the holder's process if it still runs.
func (v *pausedVictim) abort() {
	if v.exited {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGCONT)
	_ = v.cmd.Process.Kill()
	_ = v.stdin.Close()
	for range v.events {
	}
	_ = v.cmd.Wait()
}
