package faults

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/simulator"
)

// The fake vendor behind the Injector in these tests.
const (
	fakeBody         = `{"ok":true,"items":["alpha","beta","gamma","delta","epsilon","zeta","eta","theta"]}`
	fakeUnauthorized = `{"error":"denied"}`
	fakeWrongTypes   = `{"ok":"yes","items":{}}`
	fakeNoData       = `{"ok":true}`
	fakeDefaultCode  = 7
	fakeErrorStatus  = http.StatusForbidden
	testPath         = "/some/path?q=1"
)

func fakeVendorError(code int) (int, []byte) {
	if code == 0 {
		code = fakeDefaultCode
	}
	return fakeErrorStatus, []byte(`{"code":` + strconv.Itoa(code) + `}`)
}

// fakeVendor answers fakeBody with 201, a status no fault uses.
type fakeVendor struct{}

func (fakeVendor) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	writeBody(w, http.StatusCreated, "application/vnd.fake+json", []byte(fakeBody))
}

func (fakeVendor) FaultBodies() simulator.FaultBodies {
	return simulator.FaultBodies{
		Unauthorized: []byte(fakeUnauthorized),
		WrongTypes:   []byte(fakeWrongTypes),
		NoData:       []byte(fakeNoData),
		VendorError:  fakeVendorError,
	}
}

// newFake returns an Injector in front of a fakeVendor, and a server for it.
func newFake(t *testing.T) (*Injector, *httptest.Server) {
	t.Helper()
	inj := Wrap(fakeVendor{})
	srv := httptest.NewServer(inj)
	t.Cleanup(srv.Close)
	return inj, srv
}

// answer is what a client got.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration // until the body was read
	err    error         // reading the body
}

// get requests testPath without following redirects, and reads the whole
// answer.
func get(t *testing.T, srv *httptest.Server) answer {
	t.Helper()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	resp, err := client.Get(srv.URL + testPath)
	require.NoError(t, err)
	body, readErr := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	return answer{resp.StatusCode, resp.Header, body, time.Since(start), readErr}
}

func TestFaults(t *testing.T) {
	isJSON := func(t *testing.T, a answer) {
		assert.Equal(t, jsonType, a.header.Get("Content-Type"))
	}
	normal := func(t *testing.T, a answer) {
		assert.Equal(t, http.StatusCreated, a.status)
		assert.Equal(t, "application/vnd.fake+json", a.header.Get("Content-Type"))
		assert.Equal(t, fakeBody, string(a.body))
	}
	frameworkBody := func(t *testing.T, a answer, status int) {
		assert.Equal(t, status, a.status)
		isJSON(t, a)
		assert.JSONEq(t, `{"status":`+strconv.Itoa(status)+`,"error":"`+http.StatusText(status)+`","path":"/some/path"}`, string(a.body))
	}

	tests := []struct {
		fault Fault
		check func(t *testing.T, a answer)
	}{
		{Fault{}, normal},
		{Fault{Kind: Latency, Delay: 150 * time.Millisecond}, func(t *testing.T, a answer) {
			normal(t, a)
			assert.GreaterOrEqual(t, a.took, 150*time.Millisecond)
		}},
		{Fault{Kind: Status, Status: http.StatusServiceUnavailable}, func(t *testing.T, a answer) {
			frameworkBody(t, a, http.StatusServiceUnavailable)
		}},
		{Fault{Kind: HTML}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusBadGateway, a.status)
			assert.Equal(t, "text/html", a.header.Get("Content-Type"))
			assert.Contains(t, string(a.body), "<title>502 Bad Gateway</title>")
			assert.Contains(t, string(a.body), "<center>nginx</center>")
		}},
		{Fault{Kind: Unauthorized}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusUnauthorized, a.status)
			isJSON(t, a)
			assert.Equal(t, fakeUnauthorized, string(a.body))
		}},
		{Fault{Kind: RateLimited, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, a answer) {
			frameworkBody(t, a, http.StatusTooManyRequests)
			assert.Equal(t, "2", a.header.Get("Retry-After"), "whole seconds, rounded up")
		}},
		{Fault{Kind: Malformed}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			isJSON(t, a)
			assert.Equal(t, byte('{'), a.body[0], "looks like JSON")
			assert.False(t, json.Valid(a.body))
		}},
		{Fault{Kind: Truncated}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			assert.Equal(t, "application/vnd.fake+json", a.header.Get("Content-Type"))
			assert.Equal(t, fakeBody[:len(fakeBody)/2], string(a.body))
			assert.False(t, json.Valid(a.body))
		}},
		{Fault{Kind: Empty}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			isJSON(t, a)
			assert.Empty(t, a.body)
		}},
		{Fault{Kind: Oversized, Size: 1<<20 + 3}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			isJSON(t, a)
			assert.Empty(t, a.header.Get("Content-Length"), "no declared length")
			assert.Len(t, a.body, 1<<20+3)
			assert.True(t, json.Valid(a.body))
		}},
		{Fault{Kind: Drip, Delay: 200 * time.Millisecond}, func(t *testing.T, a answer) {
			normal(t, a)
			assert.GreaterOrEqual(t, a.took, 200*time.Millisecond)
		}},
		{Fault{Kind: WrongTypes}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			isJSON(t, a)
			assert.Equal(t, fakeWrongTypes, string(a.body))
		}},
		{Fault{Kind: RedirectLoop}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusFound, a.status)
			assert.Equal(t, testPath, a.header.Get("Location"))
		}},
		{Fault{Kind: Redirect, Status: http.StatusPermanentRedirect, Target: "http://elsewhere.example:8080"}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusPermanentRedirect, a.status)
			assert.Equal(t, "http://elsewhere.example:8080"+testPath, a.header.Get("Location"), "path and query go along")
		}},
		{Fault{Kind: NoData}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			isJSON(t, a)
			assert.Equal(t, fakeNoData, string(a.body))
		}},
		{Fault{Kind: DeclaredLength, Size: 1 << 40}, func(t *testing.T, a answer) {
			assert.Equal(t, http.StatusOK, a.status)
			assert.Equal(t, strconv.Itoa(1<<40), a.header.Get("Content-Length"))
			assert.Equal(t, oversizedHead, string(a.body), "only the start is sent")
			assert.ErrorIs(t, a.err, io.ErrUnexpectedEOF)
		}},
		{Fault{Kind: VendorError, Code: 42}, func(t *testing.T, a answer) {
			assert.Equal(t, fakeErrorStatus, a.status)
			isJSON(t, a)
			assert.JSONEq(t, `{"code":42}`, string(a.body))
		}},
	}

	covered := map[Kind]bool{}
	for _, tt := range tests {
		covered[tt.fault.Kind] = true
		t.Run(tt.fault.Kind.String(), func(t *testing.T) {
			inj, srv := newFake(t)
			inj.SetFault(tt.fault)
			a := get(t, srv)
			if tt.fault.Kind != DeclaredLength {
				require.NoError(t, a.err)
			}
			tt.check(t, a)
			assert.Equal(t, tt.fault, inj.Fault(), "a fault without Times stays")
		})
	}
	for k := range kinds {
		assert.True(t, covered[k], "no test for fault kind %v", k)
	}
}

func TestFaultDefaults(t *testing.T) {
	inj, srv := newFake(t)

	inj.SetFault(Fault{Kind: Status})
	assert.Equal(t, http.StatusInternalServerError, get(t, srv).status)

	inj.SetFault(Fault{Kind: VendorError})
	a := get(t, srv)
	assert.Equal(t, fakeErrorStatus, a.status)
	assert.JSONEq(t, `{"code":7}`, string(a.body), "the vendor's default code")
}

func TestRedirectLoopStopsAClient(t *testing.T) {
	inj, srv := newFake(t)
	inj.SetFault(Fault{Kind: RedirectLoop})
	resp, err := srv.Client().Get(srv.URL + testPath)
	if err == nil {
		require.NoError(t, resp.Body.Close())
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped after 10 redirects")
	assert.EqualValues(t, 10, inj.Requests(), "each hop is a request")
}

func TestOversizedExactLength(t *testing.T) {
	for _, size := range []int64{0, 1, 13, 14, 15, 100_000} {
		inj, srv := newFake(t)
		inj.SetFault(Fault{Kind: Oversized, Size: size})
		body := get(t, srv).body
		assert.Len(t, body, int(size), "size %d", size)
		if size >= int64(len(oversizedHead)+len(oversizedTail)) {
			assert.True(t, json.Valid(body), "size %d", size)
		}
	}
}

// countingWriter is a ResponseWriter that keeps only the number of bytes.
type countingWriter struct {
	header http.Header
	n      int64
}

func (c *countingWriter) Header() http.Header         { return c.header }
func (c *countingWriter) WriteHeader(int)             {}
func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestOversizedStreams(t *testing.T) {
	const size = 64 << 20
	inj, _ := newFake(t)
	inj.SetFault(Fault{Kind: Oversized, Size: size})
	w := &countingWriter{header: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, testPath, nil)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	inj.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)

	assert.EqualValues(t, size, w.n)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "the body must not be built in memory")
}

func TestDripSendsHeaderFirst(t *testing.T) {
	const total = 300 * time.Millisecond
	inj, srv := newFake(t)
	inj.SetFault(Fault{Kind: Drip, Delay: total})

	start := time.Now()
	resp, err := srv.Client().Get(srv.URL + testPath)
	require.NoError(t, err)
	defer func() { require.NoError(t, resp.Body.Close()) }()
	assert.Less(t, time.Since(start), total/2, "the header comes at once")
	assert.EqualValues(t, len(fakeBody), resp.ContentLength)

	first := make([]byte, 1)
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), total/2, "the first bytes come early")

	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), total)
	assert.Equal(t, fakeBody, string(first)+string(rest))
}

// Faults that wait must give up when the client does, or a test's server
// could not shut down.
func TestWaitingFaultsStopWhenTheClientGoesAway(t *testing.T) {
	for _, f := range []Fault{
		{Kind: Latency, Delay: time.Minute},
		{Kind: Drip, Delay: time.Minute},
	} {
		t.Run(f.Kind.String(), func(t *testing.T) {
			inj, _ := newFake(t)
			inj.SetFault(f)
			returned := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(returned)
				inj.ServeHTTP(w, r)
			}))
			defer srv.Close()

			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			if err == nil { // drip: the header came, the body does not
				_, err = io.ReadAll(resp.Body)
				require.NoError(t, resp.Body.Close())
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)

			select {
			case <-returned:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler still runs after the client gave up")
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	inj, srv := newFake(t)
	inj.SetFault(Fault{Kind: Status, Status: http.StatusServiceUnavailable, Times: 2})

	for i := range 2 {
		assert.Equal(t, http.StatusServiceUnavailable, get(t, srv).status, "request %d", i+1)
		assert.Equal(t, 1-i, inj.Fault().Times)
	}
	assert.Equal(t, Fault{}, inj.Fault(), "cleared after Times requests")
	assert.Equal(t, http.StatusCreated, get(t, srv).status)
}

func TestRequestsCountsEveryRequest(t *testing.T) {
	inj, srv := newFake(t)
	assert.Zero(t, inj.Requests())
	get(t, srv)
	inj.SetFault(Fault{Kind: HTML, Times: 1})
	get(t, srv)
	resp, err := srv.Client().Post(srv.URL+"/elsewhere", "text/plain", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.EqualValues(t, 3, inj.Requests())
}

func TestSetFaultWhileServing(t *testing.T) {
	const clients, each = 4, 25
	inj, srv := newFake(t)
	stop := make(chan struct{})
	var flipper, requests sync.WaitGroup
	flipper.Go(func() {
		kinds := []Kind{None, Status, Empty, Truncated}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			inj.SetFault(Fault{Kind: kinds[i%len(kinds)], Times: i % 3})
			_ = inj.Fault()
		}
	})
	for range clients {
		requests.Go(func() {
			for range each {
				resp, err := srv.Client().Get(srv.URL)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				assert.NoError(t, resp.Body.Close())
			}
		})
	}
	requests.Wait()
	close(stop)
	flipper.Wait()
	assert.EqualValues(t, clients*each, inj.Requests())
}

func TestSetFaultRejectsUnknownKind(t *testing.T) {
	inj, _ := newFake(t)
	assert.PanicsWithValue(t, "faults: unknown kind 99", func() { inj.SetFault(Fault{Kind: 99}) })
	assert.Equal(t, "Kind(99)", Kind(99).String())
}
