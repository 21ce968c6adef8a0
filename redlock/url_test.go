package redlock_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url, addr, shown string
	}{
		{"redis://127.0.0.1:7001", "127.0.0.1:7001", "redis://127.0.0.1:7001"},
		{"redis://:s3cret@127.0.0.1:7001/2", "127.0.0.1:7001", "redis://:xxxxx@127.0.0.1:7001/2"},
		{"rediss://app:s3cret@[::1]:6380", "[::1]:6380", "rediss://app:xxxxx@[::1]:6380"},
		{"redis://s3cret@localhost:6379/0", "localhost:6379", "redis://xxxxx@localhost:6379/0"},
		{"redis://a%2Cb:s3cret@localhost:6379", "localhost:6379", "redis://xxxxx@localhost:6379"},
		{"redis://127.0.0.1:7001/2147483647", "127.0.0.1:7001", "redis://127.0.0.1:7001/2147483647"},
		{"redis://[fe80::1%25en0]:7001", "[fe80::1%en0]:7001", "redis://[fe80::1%25en0]:7001"},
		{"redis://:s3cret@[fe80::1%25en0]:7001", "[fe80::1%en0]:7001", "redis://:xxxxx@[fe80::1%25en0]:7001"},
	}
	for _, tc := range good {
		t.Run(tc.url, func(t *testing.T) {
			n, err := redlock.ParseURL(tc.url)
			require.NoError(t, err)
			defer n.Close()
			assert.Equal(t, tc.addr, n.Addr())
			assert.Equal(t, tc.shown, n.String())
			assert.NotContains(t, n.String(), "s3cret")
		})
	}

	bad := []struct {
		url, want string
	}{
		{"", "scheme must be redis or rediss"},
		{"http://127.0.0.1:7001", "scheme must be redis or rediss"},
		{"redis://127.0.0.1", "host must be host:port"},
		{"redis://:s3cret@127.0.0.1:notaport", "cannot be parsed"},
		{"redis://u:s3cret@127.0.0.1:70000", "port is not a number in 1-65535"},
		{"redis://127.0.0.1:7001/x", "database must be a number"},
		{"redis://127.0.0.1:7001/+1", "database must be a number"},
		{"redis://127.0.0.1:7001/99999999999999999999", "database must be a number in 0-2147483647"},
		{"redis://127.0.0.1:7001/2147483648", "database must be a number"},
		{"redis://user:12/34@host:6379", "database must be a number"},
		{"redis://user:s3cret/@host:6379", "cannot be parsed"},
		{"redis://user:1234#5@host:6379", "query and fragment"},
		{"redis://user:1234?s3cret@host:6379", "query and fragment"},
		{"redis://:s3cret/@host:6379", "cannot be parsed"},
		{"redis:u:s3cret@host:6379", "no host"},
		{"u:s3cret@host:6379", "scheme must be redis or rediss"},
		{"s3cret@host:6379", "cannot be parsed"},
		{"redis://127.0.0.1:7001?db=1", "query and fragment are not supported"},
		{"redis:127.0.0.1:7001", "no host"},
		{"redis://u:s3cret@host:1/%zz", "cannot be parsed"},
		{"redis://u:s3cret@[::1:7001", "cannot be parsed"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.url, func(t *testing.T) {
			_, err := redlock.ParseURL(tc.url)
			require.ErrorIs(t, err, redlock.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.want)
			for _, secret := range []string{"s3cret", "s3cr", "1234", "12/34", "34"} {
				assert.NotContains(t, err.Error(), secret, "no password, nor a piece of it, in errors")
			}
			assert.False(t, strings.Contains(err.Error(), "\n"), "one line")
		})
	}

	t.Run("a secret where the host should be", func(t *testing.T) {
		// No "@": the user forgot the host, and the password, or a user and
		// password, sit where url.Parse looks for host:port.
		for _, tc := range []struct {
			url, want string
		}{
			{"redis://:S3cretPW", "redis://xxxxx"},
			{"redis://S3cretPW", "redis://xxxxx"},
			{"redis://u:S3cretPW", "redis://xxxxx"},
			{"redis://:S3cret/PW", "redis://xxxxx"},
			{"rediss://:S3cret?PW", "rediss://xxxxx"},
			{"redis://u:S3cret#PW", "redis://xxxxx"},
			{"redis://:S3cret%PW", "redis://xxxxx"},
			{"redis://S3cret:PW/0", "redis://xxxxx"},
			{"redis://:1234", "redis://xxxxx"},
			{"redis://S3cret:PW:6379", "redis://xxxxx"},
			{"redis://[S3cret]:6379", "redis://xxxxx"},
			{"redis:S3cretPW", "redis:xxxxx"},
			{"S3cretPW", "xxxxx"},
			{"redis://localhost:6379?password=S3cretPW", "redis://localhost:6379?xxxxx"},
			{"redis://:pw@localhost:6379#S3cretPW", "redis://:xxxxx@localhost:6379#xxxxx"},
			{"redis://:p@ssS3cretPW", "redis://:xxxxx@xxxxx"},
			{"redis://u:p@S3cret:PW/0", "redis://u:xxxxx@xxxxx"},
		} {
			t.Run(tc.url, func(t *testing.T) {
				_, err := redlock.ParseURL(tc.url)
				require.ErrorIs(t, err, redlock.ErrInvalidArgument)
				assert.Contains(t, err.Error(), `"`+tc.want+`"`)
				for _, secret := range []string{"S3cret", "PW", "1234"} {
					assert.NotContains(t, err.Error(), secret, "no password, nor a piece of it, in errors")
				}
			})
		}
	})

	t.Run("an honest typo is shown", func(t *testing.T) {
		for _, tc := range []struct {
			url, want string
		}{
			{"redis://localhost:99999", "port is not a number in 1-65535"},
			{"redis://127.0.0.1", "host must be host:port"},
			{"redis://[::1]", "host must be host:port"},
			{"redis://[::1]:0", "port is not a number in 1-65535"},
			{"redis://redis-1.example.com:6379/x", "database must be a number"},
			{"redis://", "no host"},
			{"http://r1:6379", "scheme must be redis or rediss"},
			{"redis:127.0.0.1:7001", "no host"},
		} {
			t.Run(tc.url, func(t *testing.T) {
				_, err := redlock.ParseURL(tc.url)
				require.ErrorIs(t, err, redlock.ErrInvalidArgument)
				assert.ErrorContains(t, err, `"`+tc.url+`": `+tc.want)
			})
		}
	})

	t.Run("a TLS configuration needs rediss", func(t *testing.T) {
		_, err := redlock.ParseURL("redis://127.0.0.1:7001", redlock.WithTLSConfig(&tls.Config{}))
		require.ErrorIs(t, err, redlock.ErrInvalidArgument)
		assert.ErrorContains(t, err, "needs rediss://")
		_, err = redlock.ParseURL("redis://127.0.0.1:7001", redlock.NodeOption{})
		require.ErrorIs(t, err, redlock.ErrInvalidArgument)
		n, err := redlock.ParseURL("rediss://127.0.0.1:7001", redlock.WithTLSConfig(&tls.Config{ServerName: "r1"}))
		require.NoError(t, err)
		require.NoError(t, n.Close())
	})
}
