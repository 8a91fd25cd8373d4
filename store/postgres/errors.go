package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ragd/ragd"
)

// wrap turns an error from pgx into a *ragd.Error (see classify), adding
// what was being done to the cause for the logs.
func (db *DB) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var re *ragd.Error
	if errors.As(err, &re) {
		return err
	}
	return classify(fmt.Errorf("%s: %w", what, err), db.retryAfter)
}

// classify maps database errors to ragd's codes:
//   - pgx.ErrNoRows: ENotFound;
//   - unique violation (23505): EConflict;
//   - foreign-key violation (23503): ENotFound (the collection or document
//     was deleted meanwhile);
//   - the caller's context ending: its error, kept in the chain, as
//     EUnavailable;
//   - anything that means the server cannot be reached or cannot serve now
//     (refused or broken connections, timeouts, shutdown, too many
//     connections, serialization failures): EUnavailable with RetryAfter;
//   - anything else: EInternal.
func classify(err error, retryAfter time.Duration) *ragd.Error {
	var re *ragd.Error
	if errors.As(err, &re) {
		return re
	}
	unavailable := func(msg string) *ragd.Error {
		return &ragd.Error{Code: ragd.EUnavailable, Message: msg, RetryAfter: retryAfter, Err: err}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ragd.WrapError(ragd.ENotFound, err, "Not found.")
	}
	if errors.Is(err, context.Canceled) {
		return ragd.WrapError(ragd.EUnavailable, err, "The request was cancelled.")
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return unavailable("The database did not answer in time.")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return ragd.WrapError(ragd.EConflict, err, "It already exists.")
		case pgErr.Code == "23503":
			return ragd.WrapError(ragd.ENotFound, err, "Not found.")
		case pgErr.Code == "57014": // query_canceled (statement_timeout)
			return unavailable("The database did not answer in time.")
		case pgErr.Code == "40001" || pgErr.Code == "40P01": // serialization failure, deadlock
			return unavailable("The database is busy; try again.")
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || // connection exception
			pgErr.Code[:2] == "53" || // insufficient resources
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || // shutdown, cannot connect now
			pgErr.Code == "55P03"): // lock not available
			return unavailable("The database is unavailable.")
		}
		return ragd.WrapError(ragd.EInternal, err, "Database error.")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err) || isConnClosed(err) {
		return unavailable("The database is unavailable.")
	}
	return ragd.WrapError(ragd.EInternal, err, "Database error.")
}

// isConnClosed reports errors pgx returns for a connection it has already
// found dead (it does not export a sentinel for them).
func isConnClosed(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.Error() {
		case "conn closed", "conn busy", "closed pool":
			return true
		}
	}
	return false
}
