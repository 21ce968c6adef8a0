package compose

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestURLs(t *testing.T) {
	tests := []struct {
		name string
		base string
		want []string
	}{
		{name: "unset", want: []string{"redis://127.0.0.1:7001", "redis://127.0.0.1:7002",
			"redis://127.0.0.1:7003", "redis://127.0.0.1:7004", "redis://127.0.0.1:7005"}},
		{name: "blank", base: " ", want: []string{"redis://127.0.0.1:7001", "redis://127.0.0.1:7002",
			"redis://127.0.0.1:7003", "redis://127.0.0.1:7004", "redis://127.0.0.1:7005"}},
		{name: "another base", base: "7101", want: []string{"redis://127.0.0.1:7101", "redis://127.0.0.1:7102",
			"redis://127.0.0.1:7103", "redis://127.0.0.1:7104", "redis://127.0.0.1:7105"}},
		{name: "the highest base", base: "65531", want: []string{"redis://127.0.0.1:65531", "redis://127.0.0.1:65532",
			"redis://127.0.0.1:65533", "redis://127.0.0.1:65534", "redis://127.0.0.1:65535"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := URLs(env(map[string]string{PortBaseEnv: tt.base}))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPorts_invalid(t *testing.T) {
	for _, base := range []string{"0", "-1", "+7001", "7001x", "0x1b59", " 7001", "65532", "99999999999"} {
		t.Run(base, func(t *testing.T) {
			_, err := Ports(env(map[string]string{PortBaseEnv: base}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), PortBaseEnv+`="`+base+`"`)
			assert.Contains(t, err.Error(), "from 1 to 65531")
		})
	}
}

func TestProject(t *testing.T) {
	got, err := Project(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "quorumlock", got)
	got, err = Project(env(map[string]string{ProjectEnv: " "}))
	require.NoError(t, err)
	assert.Equal(t, "quorumlock", got, "blank")

	got, err = Project(env(map[string]string{ProjectEnv: "qlitest_2-b"}))
	require.NoError(t, err)
	assert.Equal(t, "qlitest_2-b", got)

	for _, bad := range []string{"QLTest", "-x", "a.b", "a b", " ql"} {
		_, err := Project(env(map[string]string{ProjectEnv: bad}))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), ProjectEnv+`="`+bad+`"`)
	}
}

func TestService(t *testing.T) {
	assert.Equal(t, "redis1", Service(0))
	assert.Equal(t, "redis5", Service(4))
}
