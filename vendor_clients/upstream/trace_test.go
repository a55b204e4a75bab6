package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTraceRecordsEachRequest(t *testing.T) {
	const body = `{"data":[1,2,3]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := &Client{}
	trace := &Trace{}
	ctx := WithTrace(context.Background(), trace)
	readAll := func(resp *http.Response) error {
		if err := CheckStatus(resp); err != nil {
			return err
		}
		_, err := io.ReadAll(resp.Body)
		return err
	}
	for _, page := range []string{"1", "2"} {
		req, err := NewRequest(ctx, http.MethodGet, srv.URL+"/list?signature=s3cr3t&page="+page, nil)
		require.NoError(t, err)
		_ = c.Do(ctx, req, readAll) // the outcome is what the trace records
	}
	Notef(ctx, "%d pages announced", 2)

	got := trace.Requests()
	require.Len(t, got, 2)
	assert.Equal(t, srv.URL+"/list", got[0].URL, "redacted: no query")
	assert.Equal(t, http.StatusOK, got[0].StatusCode)
	assert.Equal(t, ResultSuccess, got[0].Result)
	assert.Equal(t, int64(len(body)), got[0].Bytes)
	assert.False(t, got[0].Start.IsZero())
	assert.Equal(t, http.StatusNotFound, got[1].StatusCode)
	assert.Equal(t, ResultHTTPError, got[1].Result)
	assert.Zero(t, got[1].Bytes, "CheckStatus reads nothing")
	assert.Equal(t, []string{"2 pages announced"}, trace.Notes())

	// Without a trace in the context, nothing is recorded and Notef is a no-op.
	req, err := NewRequest(context.Background(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	require.NoError(t, c.Do(context.Background(), req, readAll))
	Notef(context.Background(), "dropped")
	assert.Len(t, trace.Requests(), 2)
	assert.Len(t, trace.Notes(), 1)
}
