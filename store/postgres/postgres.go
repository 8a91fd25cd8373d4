// Package postgres is ragd's store on PostgreSQL with pgvector: many ragd
// processes can share one database.
//
// The schema comes from package migrations and is applied by [Open] (or by
// `ragd migrate`) into one PostgreSQL schema, "ragd" unless configured;
// every statement names it, so nothing depends on search_path.
//
// Vectors: every collection with vectors has its own partial HNSW index
// (cosine) on the shared chunks table, on embedding::vector(dimension), so
// that collections of different dimensions coexist and the planner uses the
// index made for the collection searched. The index is created, empty,
// with the collection and kept up to date by inserts; for a bulk load,
// [DB.DropVectorIndex] then [DB.BuildVectorIndex] is much faster. Filtered
// vector searches run pgvector's iterative index scans, so a filter never
// makes a search return fewer hits than exist.
//
// Lexical search is BM25 in SQL over a postings table that PutDocument
// fills with the terms of package lexical, and ranks exactly as
// [lexical.Score]. Hybrid search fuses both lists by reciprocal rank in the
// same statement. A write is one transaction and a search one statement,
// each sent in one round trip.
//
// Errors are *ragd.Error values: ENotFound, EConflict, EInvalid (checked
// before any SQL runs, dimension mismatches included) and EUnavailable, with
// a RetryAfter, while the database cannot be reached; the pool reconnects
// by itself when it is back.
//
// Tests run on PGlite (PostgreSQL compiled to WebAssembly, see .ci/pglite),
// whose connections share one session: there, use the simple protocol
// (default_query_exec_mode=simple_protocol in the DSN).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/migrations"
)

// MinPgvectorVersion is the oldest pgvector ragd runs on: older versions
// have CVE-2026-3172, a buffer overflow in parallel HNSW index builds.
const MinPgvectorVersion = "0.8.2"

// recommendedPgvectorVersion fixes HNSW vacuum corruption; older versions
// get a warning.
const recommendedPgvectorVersion = "0.8.4"

// HNSW defaults. M and EfConstruction shape new indexes; EfSearch is the
// candidate list of each index scan (pgvector's default is 40, which loses
// recall at 100,000 chunks; see the package benchmarks).
const (
	DefaultHNSWM              = 16
	DefaultHNSWEfConstruction = 64
	DefaultEfSearch           = 100
	// DefaultMaxScanTuples bounds how many index tuples a filtered search
	// visits before it gives up looking for more matches (pgvector's
	// hnsw.max_scan_tuples).
	DefaultMaxScanTuples = 20000
	// DefaultRetryAfter is the RetryAfter of EUnavailable errors.
	DefaultRetryAfter = 2 * time.Second
)

// Options configure a [DB]. The zero value is usable.
type Options struct {
	// Schema is the PostgreSQL schema holding ragd's tables; default
	// migrations.DefaultSchema ("ragd").
	Schema string
	// MaxConns is the pool size; 0 means pgx's default (the larger of 4
	// and the number of CPUs), unless the DSN sets pool_max_conns.
	MaxConns int32
	// SkipMigrations makes Open check the schema instead of applying
	// migrations (for deployments that run `ragd migrate` separately).
	SkipMigrations bool
	// HNSWM and HNSWEfConstruction are the parameters of the HNSW indexes
	// created for new collections; 0 means the defaults above.
	HNSWM, HNSWEfConstruction int
	// EfSearch and MaxScanTuples tune vector search; 0 means the defaults.
	EfSearch, MaxScanTuples int
	// RetryAfter is what EUnavailable errors tell clients; 0 means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Logger receives warnings (an old pgvector, an index rebuild);
	// nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = migrations.DefaultSchema
	}
	if o.HNSWM == 0 {
		o.HNSWM = DefaultHNSWM
	}
	if o.HNSWEfConstruction == 0 {
		o.HNSWEfConstruction = DefaultHNSWEfConstruction
	}
	if o.EfSearch == 0 {
		o.EfSearch = DefaultEfSearch
	}
	if o.MaxScanTuples == 0 {
		o.MaxScanTuples = DefaultMaxScanTuples
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	if err := migrations.ValidateSchema(o.Schema); err != nil {
		return ragd.WrapError(ragd.EInvalid, err, "The Postgres schema name is invalid.")
	}
	if o.MaxConns < 0 {
		return ragd.Errorf(ragd.EInvalid, "Postgres MaxConns must not be negative, got %d.", o.MaxConns)
	}
	if o.HNSWM < 2 || o.HNSWM > 100 {
		return ragd.Errorf(ragd.EInvalid, "HNSW m must be between 2 and 100, got %d.", o.HNSWM)
	}
	if o.HNSWEfConstruction < 2*o.HNSWM || o.HNSWEfConstruction > 1000 {
		return ragd.Errorf(ragd.EInvalid, "HNSW ef_construction must be between 2*m (%d) and 1000, got %d.", 2*o.HNSWM, o.HNSWEfConstruction)
	}
	if o.EfSearch < 1 || o.EfSearch > 1000 {
		return ragd.Errorf(ragd.EInvalid, "HNSW ef_search must be between 1 and 1000, got %d.", o.EfSearch)
	}
	if o.MaxScanTuples < 1 {
		return ragd.Errorf(ragd.EInvalid, "HNSW max_scan_tuples must be positive, got %d.", o.MaxScanTuples)
	}
	return nil
}

// DB is a ragd store in a PostgreSQL database. It is safe for concurrent
// use, and any number of DBs (in any number of processes) may share one
// database.
type DB struct {
	pool       *pgxpool.Pool
	opts       Options
	sqlr       *strings.Replacer
	retryAfter time.Duration
	colls      collectionCache
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string), applies pending migrations unless opts.SkipMigrations,
// checks pgvector's version, and makes sure every collection's vector index
// exists. It refuses pgvector older than MinPgvectorVersion. Connection
// failures are EUnavailable errors; a bad DSN or bad options are EInvalid.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included: keep it
		// out of the message.
		return nil, ragd.WrapError(ragd.EInvalid, err, "The Postgres connection string is invalid.")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}

	if err := prepare(ctx, cfg, opts); err != nil {
		return nil, err
	}

	cfg.AfterConnect = registerTypes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, ragd.WrapError(ragd.EInvalid, err, "The Postgres connection settings are invalid.")
	}
	quoted := pgx.Identifier{opts.Schema}.Sanitize()
	db := &DB{
		pool:       pool,
		opts:       opts,
		sqlr:       strings.NewReplacer("{schema}", quoted),
		retryAfter: opts.RetryAfter,
	}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.reconcileIndexes(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// registerTypes registers pgvector's types on a new connection, and makes
// them the types of pgvector.Vector values so that pgx can encode them
// without asking the server (the simple protocol, which PGlite needs when
// several connections share it, never asks).
func registerTypes(ctx context.Context, conn *pgx.Conn) error {
	if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
		return err
	}
	tm := conn.TypeMap()
	tm.RegisterDefaultPgType(pgvector.Vector{}, "vector")
	tm.RegisterDefaultPgType([]*pgvector.Vector{}, "_vector")
	return nil
}

// prepare applies migrations and checks pgvector on a connection pool of
// its own: the main pool registers pgvector's types on every connection,
// which fails until the extension exists.
func prepare(ctx context.Context, cfg *pgxpool.Config, opts Options) error {
	bcfg := cfg.Copy()
	bcfg.MaxConns = 1
	bcfg.MinConns = 0
	bcfg.AfterConnect = nil
	pool, err := pgxpool.NewWithConfig(ctx, bcfg)
	if err != nil {
		return ragd.WrapError(ragd.EInvalid, err, "The Postgres connection settings are invalid.")
	}
	defer pool.Close()

	// Check pgvector before migrating, when it is installed already, and
	// after, when the migrations installed it.
	if err := checkPgvector(ctx, pool, opts, false); err != nil {
		return err
	}
	if !opts.SkipMigrations {
		if err := migrations.ApplySchema(ctx, pool, opts.Schema); err != nil {
			if e := classify(err, opts.RetryAfter); e.Code == ragd.EUnavailable {
				return e
			}
			return ragd.WrapError(ragd.EInternal, err, "Applying the database migrations failed.")
		}
	}
	if err := checkPgvector(ctx, pool, opts, true); err != nil {
		return err
	}
	pending, err := migrations.Pending(ctx, pool, opts.Schema)
	if err != nil {
		return classify(err, opts.RetryAfter)
	}
	if len(pending) > 0 {
		return ragd.Errorf(ragd.EInternal, "Schema %q lacks migrations %s; run `ragd migrate`.", opts.Schema, strings.Join(pending, ", "))
	}
	return nil
}

// checkPgvector refuses pgvector older than MinPgvectorVersion and warns
// about versions older than the recommended one. A missing extension is an
// error only when required.
func checkPgvector(ctx context.Context, pool *pgxpool.Pool, opts Options, required bool) error {
	var version *string
	err := pool.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&version)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return classify(fmt.Errorf("read pgvector version: %w", err), opts.RetryAfter)
	}
	if version == nil {
		if required {
			return ragd.Errorf(ragd.EInternal, "The pgvector extension is not installed in this database; run `ragd migrate` or CREATE EXTENSION vector as a superuser.")
		}
		return nil
	}
	if err := checkPgvectorVersion(*version); err != nil {
		return err
	}
	if required && compareVersions(*version, recommendedPgvectorVersion) < 0 {
		opts.Logger.Warn("pgvector is older than the recommended version, which fixes HNSW index corruption during vacuum",
			"pgvector_version", *version, "recommended", recommendedPgvectorVersion)
	}
	return nil
}

// checkPgvectorVersion refuses versions older than MinPgvectorVersion.
func checkPgvectorVersion(v string) error {
	if compareVersions(v, MinPgvectorVersion) < 0 {
		return ragd.Errorf(ragd.EInternal,
			"pgvector %s is installed, but ragd needs %s or later: older versions have CVE-2026-3172 (a buffer overflow in parallel HNSW index builds). Upgrade the extension and run ALTER EXTENSION vector UPDATE.",
			v, MinPgvectorVersion)
	}
	return nil
}

// compareVersions compares dotted version strings numerically ("0.8.10" is
// newer than "0.8.9"); a missing or non-numeric part counts as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = leadingInt(pa[i])
		}
		if i < len(pb) {
			y = leadingInt(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// leadingInt parses the digits at the start of s ("4-dev" is 4).
func leadingInt(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	v, _ := strconv.Atoi(s[:n])
	return v
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers, for readiness probes. It returns
// an EUnavailable error when it does not.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return db.wrap(err, "ping the database")
	}
	return nil
}

// Stats reports the connection pool's state, for metrics.
func (db *DB) Stats() *pgxpool.Stat {
	return db.pool.Stat()
}

// Pool returns the connection pool, for components that keep their own
// tables in the same database (the job queue). pgvector's types are
// registered on its connections.
func (db *DB) Pool() *pgxpool.Pool {
	return db.pool
}

// Schema returns the schema that holds ragd's tables.
func (db *DB) Schema() string {
	return db.opts.Schema
}

// sendTx runs the queries that queue adds to a batch as one transaction,
// in one round trip: BEGIN, the queries, COMMIT. After a failure the
// transaction is rolled back.
func (db *DB) sendTx(ctx context.Context, queue func(b *pgx.Batch)) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	queue(b)
	b.Queue("COMMIT")
	br := db.pool.SendBatch(ctx, b)
	err := br.Close()
	if tx := br.Tx(); tx != nil {
		// Committed, this only returns the connection to the pool; after
		// a failure it ends the aborted transaction first.
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil {
			err = rerr
		}
	}
	return err
}

// sql puts the quoted schema name into a query template.
func (db *DB) sql(q string) string {
	return db.sqlr.Replace(q)
}
