package rueidis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"

	qrueidis "github.com/quorumlock/quorumlock/backend/rueidis"
)

func TestNew_refusesClusterAndNil(t *testing.T) {
	if _, err := qrueidis.New(nil); err == nil {
		t.Error("New(nil) returned no error")
	}
	// miniredis answers CLUSTER SLOTS, so without ForceSingleClient rueidis
	// makes a cluster client of it.
	mr := miniredis.RunT(t)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{mr.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if rc.Mode() != rueidis.ClientModeCluster {
		t.Fatalf("the client is in mode %s, want cluster for this test", rc.Mode())
	}
	if _, err := qrueidis.New(rc); err == nil || !strings.Contains(err.Error(), "ForceSingleClient") {
		t.Errorf("New of a cluster client: %v; want an error naming ForceSingleClient", err)
	}
}

func TestConn_Close_leavesClientOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{mr.Addr()}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	conn, err := qrueidis.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.Do(ctx, rc.B().Ping().Build()).Error(); err != nil {
		t.Errorf("the client after Conn.Close: %v", err)
	}
}

func TestConn_refusesOtherArgumentTypes(t *testing.T) {
	mr := miniredis.RunT(t)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{mr.Addr()}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	conn, err := qrueidis.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Eval(context.Background(), "return 1", nil, []any{"ok", 1.5})
	if err == nil || !strings.Contains(err.Error(), "argument 1 is a float64") {
		t.Errorf("Eval with a float64 argument: %v; want an error naming it", err)
	}
}
