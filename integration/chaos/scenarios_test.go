package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestScenarios checks that every out-of-model fault the flags accept has
// a scenario that says what it does and how it is undone, with phases that
// expect something.
func TestScenarios(t *testing.T) {
	assert.Len(t, scenarios, len(outOfModel))
	for _, name := range outOfModel {
		sc := scenarioByName(name)
		if !assert.NotNil(t, sc, "scenario %s", name) {
			continue
		}
		assert.NotEmpty(t, sc.does, name)
		assert.NotEmpty(t, sc.undo, name)
		assert.NotNil(t, sc.inject, name)
		assert.NotEmpty(t, sc.phases, name)
		for _, p := range sc.phases {
			assert.NotEmpty(t, p.expect, "%s, %s", name, p.label)
			assert.NotEmpty(t, p.about, "%s, %s", name, p.label)
		}
	}
	assert.Nil(t, scenarioByName("meteor"))
}
