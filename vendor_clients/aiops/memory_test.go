package aiops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/internal/testutil"
	"github.com/quotaexporter/quota_exporter/vendor_clients/upstream"
)

// largeAnswer is a license list of about size bytes.
func largeAnswer(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"success":true,"data":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sys_id":"%08d-7c1e-4f0a-9d2b-5e8a1c3f6b7d","license_type":"lite","license":"基础版","user":"100004605132",`+
			`"contact_name":"manman01","is_used":1,"auto_renew":0,"isExpired":0,"expired_time":"2027-01-06","nextDate":"2026-04-11",`+
			`"telNum":"10","telTotal":"100","msgNum":"10","msgTotal":"100","weChatNum":"1","weChatTotal":"100",`+
			`"emailNum":"1","emailTotal":"100","intTelNum":"0","intTelTotal":"0","intMsgNum":"0","intMsgTotal":"0"}`, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// BenchmarkFetchLargeAnswer reports the peak heap of one fetch of a 24 MiB
// answer, sent with and without a Content-Length.
func BenchmarkFetchLargeAnswer(b *testing.B) {
	body := largeAnswer(24 << 20)
	for _, declared := range []bool{true, false} {
		b.Run("content-length="+strconv.FormatBool(declared), func(b *testing.B) {
			transport := roundTrip(func(*http.Request) *http.Response {
				resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
					Body: http.NoBody, ContentLength: -1}
				resp.Body = readCloser{bytes.NewReader(body)}
				if declared {
					resp.ContentLength = int64(len(body))
				}
				return resp
			})
			peakHeap(b, transport, func(err error) { require.NoError(b, err) })
			b.ReportMetric(float64(len(body))/(1<<20), "body-MiB")
		})
	}
}

// BenchmarkFetchOversizedAnswer reports the peak heap of one fetch of a
// 150 MiB answer, over the 32 MiB limit, with and without a declared
// Content-Length. The body is generated as it is read.
func BenchmarkFetchOversizedAnswer(b *testing.B) {
	const size = 150 << 20
	for _, declared := range []bool{true, false} {
		b.Run("content-length="+strconv.FormatBool(declared), func(b *testing.B) {
			transport := roundTrip(func(*http.Request) *http.Response {
				body := io.MultiReader(strings.NewReader(`{"success":true,"data":[{"sys_id":"`), io.LimitReader(zeros{}, size))
				resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(body), ContentLength: -1}
				if declared {
					resp.ContentLength = size
				}
				return resp
			})
			peakHeap(b, transport, func(err error) { require.Equal(b, upstream.ResultTooLarge, upstream.ResultOf(err)) })
		})
	}
}

// peakHeap fetches through transport b.N times, checks each result and
// reports the highest peak heap of one fetch.
func peakHeap(b *testing.B, transport http.RoundTripper, check func(error)) {
	u, err := url.Parse("https://caweb.aiops.com")
	require.NoError(b, err)
	c := New(Config{BaseURL: u, Email: testEmail, Token: testutil.Secret(testToken)}, &upstream.Client{HTTP: &http.Client{Transport: transport}})
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		peak = max(peak, testutil.PeakHeap(func() {
			_, err := c.Fetch(context.Background())
			check(err)
		}))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type roundTrip func(*http.Request) *http.Response

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r), nil }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
