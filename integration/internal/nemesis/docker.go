// Package nemesis injects faults into the five-node compose cluster of
// docker-compose.yml: container faults through the docker CLI by compose
// service (pause, kill, start), network faults through an in-process
// toxiproxy in front of each node (latency, partitions, connection resets),
// and clock faults through the clock shim of the local Redis image. The
// integration suite and the chaos run (integration/chaos) share it.
//
// Every call is bounded in time: a docker command by DockerTimeout, a
// command to a node by its context.
package nemesis

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/internal/compose"
)

// DockerTimeout bounds one docker CLI command; on a busy machine `docker
// start` can take seconds.
const DockerTimeout = time.Minute

// Docker runs the docker CLI with args, bounded by DockerTimeout, and
// returns its output, trimmed. The error names the command and quotes what
// docker said.
func Docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// Containers returns the container id of each of the n nodes of the compose
// project, node i being service redis<i+1>, found by the labels compose 1.x
// and 2.x both set.
func Containers(project string, n int) ([]string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, fmt.Errorf("docker CLI not found: %w", err)
	}
	ids := make([]string, n)
	for i := range ids {
		service := compose.Service(i)
		out, err := Docker("ps", "-a", "-q",
			"--filter", "label=com.docker.compose.project="+project,
			"--filter", "label=com.docker.compose.service="+service)
		if err != nil {
			return nil, err
		}
		found := strings.Fields(out)
		if len(found) != 1 {
			return nil, fmt.Errorf("compose project %q, service %s: want 1 container, found %d "+
				"(is COMPOSE_PROJECT_NAME the one scripts/cluster.sh up ran with?)", project, service, len(found))
		}
		ids[i] = found[0]
	}
	return ids, nil
}

// State returns the container's state as docker reports it: running,
// paused, exited, created, restarting or dead.
func State(id string) (string, error) {
	return Docker("inspect", "--format", "{{.State.Status}}", id)
}

// Revive brings the container back to running, whatever stopped it:
// unpauses it if paused, starts it if it is not running. It reports the
// state it found.
func Revive(id string) (was string, err error) {
	was, err = State(id)
	if err != nil {
		return "", err
	}
	switch was {
	case "running":
	case "paused":
		_, err = Docker("unpause", id)
	default: // exited, created, dead
		_, err = Docker("start", id)
	}
	return was, err
}
