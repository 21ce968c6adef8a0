package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlags_profiles(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "short", c.Profile)
	assert.Equal(t, 2*time.Minute, c.Duration)
	assert.Equal(t, 300, c.MinGrants)
	assert.Equal(t, c.Duration+5*time.Minute, c.Limit)
	assert.Equal(t, allKinds, c.Kinds)
	assert.Equal(t, 2, c.MaxFaulty, "a minority of five nodes")

	c, err = parseFlags([]string{"-profile", "long", "-seed", "7", "-clients", "3"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, int64(7), c.Seed)
	assert.Equal(t, 10_000, c.MinGrants, "the long profile makes at least 10,000 grants")
	assert.Equal(t, 3, c.Clients, "a flag overrides the profile")
	assert.Equal(t, 4, c.Names)

	c, err = parseFlags([]string{"-fault", "eviction"}, io.Discard)
	require.NoError(t, err)
	assert.Empty(t, c.Profile)
	assert.Equal(t, 5*time.Minute, c.Limit)
}

func TestParseFlags_fencing(t *testing.T) {
	for _, tc := range []struct {
		flag   string
		fenced []bool
	}{
		{"all", []bool{true, true, true, true}},
		{"half", []bool{false, true, false, true}},
		{"none", []bool{false, false, false, false}},
	} {
		c, err := parseFlags([]string{"-fencing", tc.flag}, io.Discard)
		require.NoError(t, err)
		for i, want := range tc.fenced {
			assert.Equal(t, want, c.fenced(i), "-fencing %s, client %d", tc.flag, i)
		}
	}
}

func TestParseFlags_errors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-profile", "medium"}, `-profile "medium"`},
		{[]string{"-fault", "meteor"}, `-fault "meteor"`},
		{[]string{"-fault", "eviction", "-duration", "1m"}, "-duration is for in-model runs"},
		{[]string{"-ttl", "100ms"}, "-ttl 100ms"},
		{[]string{"-ttl", "1500us"}, "whole number of milliseconds"},
		{[]string{"-duration", "1s"}, "-duration 1s"},
		{[]string{"-clients", "1"}, "-clients 1"},
		{[]string{"-names", "0"}, "-names 0"},
		{[]string{"-min-grants", "1000000"}, "-min-grants 1000000"},
		{[]string{"-fencing", "some"}, `-fencing "some"`},
		{[]string{"-clock", "maybe"}, `-clock "maybe"`},
		{[]string{"-faults", "pause,flood"}, `unknown kind "flood"`},
		{[]string{"-progress", "30s"}, "-progress 30s"},
		{[]string{"-holder"}, "-holder needs -holder-name"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		assert.ErrorContains(t, err, tc.want, "args %q", tc.args)
	}
}

func TestParseFlags_kinds(t *testing.T) {
	c, err := parseFlags([]string{"-faults", "kill, pause,kill"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{kindKill, kindPause}, c.Kinds)
}
