//go:build race

package main

// raceEnabled tells whether the tests run with the race detector; the
// command under test is then built with it too.
const raceEnabled = true
