package ghapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxAttempts bounds retries: a run waiting minutes on GitHub is worse
// than one failing with the reason.
const maxAttempts = 4

// retryTransport retries what GitHub asks to be retried: 5xx answers, and
// secondary rate limits (403 or 429 with Retry-After, or x-ratelimit-remaining: 0
// with x-ratelimit-reset), waiting as told, with exponential backoff otherwise.
type retryTransport struct {
	base  http.RoundTripper
	sleep func(ctx context.Context, d time.Duration) error
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
	}
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := base.RoundTrip(req)
		if err != nil || attempt == maxAttempts {
			return resp, err
		}
		wait, retry := retryAfter(resp, backoff)
		if !retry {
			return resp, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		backoff *= 2
	}
}

// retryAfter says whether a response asks for a retry, and after how long.
func retryAfter(resp *http.Response, backoff time.Duration) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" && (resp.StatusCode == 403 || resp.StatusCode == 429 || resp.StatusCode >= 500) {
		if secs, err := strconv.Atoi(s); err == nil {
			return time.Duration(secs) * time.Second, true
		}
	}
	if resp.StatusCode == 403 || resp.StatusCode == 429 {
		if resp.Header.Get("X-Ratelimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
				if d := time.Until(time.Unix(reset, 0)); d > 0 && d < 2*time.Minute {
					return d, true
				}
			}
		}
		return 0, false
	}
	if resp.StatusCode >= 500 {
		return backoff, true
	}
	return 0, false
}
