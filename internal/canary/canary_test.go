package canary

import (
	"errors"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) FailNow()              { r.failed = true; panic(r) }
func (r *recorder) Fatalf(string, ...any) { r.FailNow() }
func (r *recorder) Fatal(...any)          { r.FailNow() }
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Name() string          { return "recorder" }
func (r *recorder) Cleanup(func())        {}

// failed reports whether AssertAbsent failed its test.
func failed(value any, err error, canaries []string) (failed bool) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	AssertAbsent(r, value, err, canaries)
	return r.failed
}

func TestAssertAbsent(t *testing.T) {
	if failed("clean", errors.New("clean too"), []string{"s3cret"}) {
		t.Error("failed without a canary present")
	}
	if !failed(struct{ hidden string }{"a s3cret"}, nil, []string{"s3cret"}) {
		t.Error("missed a canary in an unexported field")
	}
	if !failed("clean", errors.New("leaks s3cret"), []string{"s3cret"}) {
		t.Error("missed a canary in the error")
	}
	if !failed("clean", nil, nil) {
		t.Error("passed without any canary")
	}
	if !failed("clean", nil, []string{""}) {
		t.Error("passed with an empty canary")
	}
}
