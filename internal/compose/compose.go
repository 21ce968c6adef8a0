// Package compose names the five-node Redis cluster of docker-compose.yml as
// scripts/cluster.sh starts it: its compose project, its services and the
// loopback address of each node. The project name and the ports come from
// the environment, so that two checkouts can run their clusters side by
// side; scripts/cluster.sh reads the same variables by the same rules.
//
// It is test support, for the integration suite and the command's cluster
// tests.
package compose

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const (
	// ProjectEnv names the variable holding the compose project name.
	ProjectEnv = "COMPOSE_PROJECT_NAME"
	// PortBaseEnv names the variable holding the loopback port of redis1;
	// redis2..redis5 listen on the next four ports.
	PortBaseEnv = "REDLOCK_CLUSTER_PORT_BASE"

	// DefaultProject is the project name when ProjectEnv is unset or blank.
	DefaultProject = "quorumlock"
	// DefaultPortBase is the port of redis1 when PortBaseEnv is unset or
	// blank: the nodes listen on 127.0.0.1:7001..7005.
	DefaultPortBase = 7001
	// Nodes is the number of nodes, redis1..redis5.
	Nodes = 5
	// Host is the address every node is published on.
	Host = "127.0.0.1"
)

// projectName is what compose 2.x accepts; compose 1.x would silently
// rewrite other names, and the containers' labels would then not match.
var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Project returns the compose project name that getenv (os.Getenv, say)
// gives, or DefaultProject if it is unset or blank, or an error naming the
// variable if the name is not one compose keeps as it is.
func Project(getenv func(string) string) (string, error) {
	p := getenv(ProjectEnv)
	if strings.TrimSpace(p) == "" {
		return DefaultProject, nil
	}
	if !projectName.MatchString(p) {
		return "", fmt.Errorf("%s=%q: a compose project name is lower-case letters, digits, '-' and '_', "+
			"starting with a letter or digit", ProjectEnv, p)
	}
	return p, nil
}

// Service returns the compose service of node i, counted from 0: redis1
// for node 0.
func Service(i int) string { return "redis" + strconv.Itoa(i+1) }

// Ports returns the port of each node by the environment getenv gives:
// PortBaseEnv and the four ports after it, or 7001..7005 if it is unset or
// blank. A base that is not a decimal port number leaving room for all five
// is an error naming the variable.
func Ports(getenv func(string) string) ([]int, error) {
	base := DefaultPortBase
	if raw := getenv(PortBaseEnv); strings.TrimSpace(raw) != "" {
		n, err := strconv.ParseUint(raw, 10, 32)
		if err != nil || n < 1 || n > 65535-(Nodes-1) {
			return nil, fmt.Errorf("%s=%q: want the port of redis1, a number from 1 to %d (the five nodes take it "+
				"and the next four)", PortBaseEnv, raw, 65535-(Nodes-1))
		}
		base = int(n)
	}
	ports := make([]int, Nodes)
	for i := range ports {
		ports[i] = base + i
	}
	return ports, nil
}

// URLs returns redis://127.0.0.1:<port> for each node, in service order,
// with the ports of [Ports].
func URLs(getenv func(string) string) ([]string, error) {
	ports, err := Ports(getenv)
	if err != nil {
		return nil, err
	}
	urls := make([]string, len(ports))
	for i, p := range ports {
		urls[i] = fmt.Sprintf("redis://%s:%d", Host, p)
	}
	return urls, nil
}
