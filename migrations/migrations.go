// Package migrations holds ragd's PostgreSQL schema as numbered .sql files
// (NNNN_name.sql), embedded in the binary, and the runner that applies them.
//
// Each file is applied once, in lexical order, in its own transaction, and
// recorded by name (with a checksum) in the schema_migrations table of the
// target schema. Every transaction first takes a transaction-scoped
// advisory lock, so ragd processes that start together against one database
// apply each file exactly once; where advisory locks do not work across
// connections (PGlite, some poolers), the unique name in schema_migrations
// still stops a file from being recorded twice: the loser's transaction
// rolls back and it moves on.
//
// Files are written without schema names: the runner sets search_path to
// the target schema (then the schema holding pgvector, then public) for the
// duration of each transaction.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSchema is the PostgreSQL schema that holds ragd's tables unless
// configured otherwise.
const DefaultSchema = "ragd"

//go:embed *.sql
var embedded embed.FS

// Migration is one schema change.
type Migration struct {
	// Name is the file name, for example "0001_store.sql".
	Name string
	// SQL is the file's content.
	SQL string
	// Checksum is the hex SHA-256 of SQL.
	Checksum string
}

var (
	fileNameRE = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)
	schemaRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

// All returns ragd's migrations in the order they are applied.
func All() ([]Migration, error) {
	return load(embedded)
}

func load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	seen := make(map[string]string, len(names))
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		m := fileNameRE.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNNN_lower_case_words.sql", name)
		}
		if prev, ok := seen[m[1]]; ok {
			return nil, fmt.Errorf("migration files %q and %q share the number %s", prev, name, m[1])
		}
		seen[m[1]] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Name: name, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// ValidateSchema reports whether name can be used as the schema for ragd's
// tables: 1 to 63 lower-case letters, digits or '_', not starting with a
// digit.
func ValidateSchema(name string) error {
	if !schemaRE.MatchString(name) {
		return fmt.Errorf("schema name %q is invalid: use 1 to 63 lower-case letters, digits or '_', not starting with a digit", name)
	}
	return nil
}

// Apply applies the migrations that the database lacks to DefaultSchema.
// It is safe to call from several processes at once and a no-op when
// everything is applied.
func Apply(ctx context.Context, pool *pgxpool.Pool) error {
	return ApplySchema(ctx, pool, DefaultSchema)
}

// ApplySchema applies the migrations that the database lacks to the given
// schema, creating the schema first if needed. It returns an error, and
// changes nothing more, when a file that was applied earlier has been
// edited since, or when a migration fails (its transaction is rolled back,
// so a failed file leaves no trace and is tried again next time).
func ApplySchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	ms, err := All()
	if err != nil {
		return err
	}
	_, err = apply(ctx, pool, schema, ms)
	return err
}

// Pending returns the names of the migrations not yet applied to schema,
// in order: all of them when the schema has none.
func Pending(ctx context.Context, pool *pgxpool.Pool, schema string) ([]string, error) {
	if err := ValidateSchema(schema); err != nil {
		return nil, err
	}
	ms, err := All()
	if err != nil {
		return nil, err
	}
	r := runner{pool: pool, schema: schema, quoted: pgx.Identifier{schema}.Sanitize()}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, r.quoted+".schema_migrations").Scan(&exists); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	applied := map[string]string{}
	if exists {
		if applied, err = r.applied(ctx); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, m := range ms {
		if _, ok := applied[m.Name]; !ok {
			out = append(out, m.Name)
		}
	}
	return out, nil
}

// apply applies ms and returns the names of the files this call applied.
func apply(ctx context.Context, pool *pgxpool.Pool, schema string, ms []Migration) ([]string, error) {
	if err := ValidateSchema(schema); err != nil {
		return nil, err
	}
	r := runner{pool: pool, schema: schema, quoted: pgx.Identifier{schema}.Sanitize()}
	if err := r.bootstrap(ctx); err != nil {
		return nil, err
	}
	applied, err := r.applied(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, m := range ms {
		if sum, ok := applied[m.Name]; ok {
			if sum != m.Checksum {
				return done, fmt.Errorf("migration %s was edited after it was applied to schema %s (checksum %s, recorded %s): add a new migration instead", m.Name, schema, m.Checksum, sum)
			}
			continue
		}
		ran, err := r.applyOne(ctx, m)
		if err != nil {
			return done, err
		}
		if ran {
			done = append(done, m.Name)
		}
	}
	return done, nil
}

type runner struct {
	pool   *pgxpool.Pool
	schema string
	quoted string // schema as a quoted identifier
}

// lock takes the transaction-scoped advisory lock for this schema's
// migrations. It is released when tx ends.
func (r runner) lock(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('ragd.migrations.' || $1::text, 0))`, r.schema)
	if err != nil {
		return fmt.Errorf("lock migrations of schema %s: %w", r.schema, err)
	}
	return nil
}

func (r runner) bootstrap(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := r.lock(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+r.quoted); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+r.quoted+`.schema_migrations (
			name       text PRIMARY KEY,
			checksum   text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("prepare schema %s for migrations: %w", r.schema, err)
	}
	return nil
}

func (r runner) applied(ctx context.Context) (map[string]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT name, checksum FROM `+r.quoted+`.schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	out := make(map[string]string)
	var name, sum string
	_, err = pgx.ForEachRow(rows, []any{&name, &sum}, func() error {
		out[name] = sum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return out, nil
}

// applyOne applies m in one transaction unless another process has
// recorded it meanwhile. It reports whether this call applied it.
func (r runner) applyOne(ctx context.Context, m Migration) (bool, error) {
	ran := false
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := r.lock(ctx, tx); err != nil {
			return err
		}
		var sum string
		err := tx.QueryRow(ctx, `SELECT checksum FROM `+r.quoted+`.schema_migrations WHERE name = $1`, m.Name).Scan(&sum)
		switch {
		case err == nil:
			if sum != m.Checksum {
				return fmt.Errorf("migration %s was applied to schema %s by another process with checksum %s, this binary has %s", m.Name, r.schema, sum, m.Checksum)
			}
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if err := r.setSearchPath(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+r.quoted+`.schema_migrations (name, checksum) VALUES ($1, $2)`, m.Name, m.Checksum); err != nil {
			return err
		}
		ran = true
		return nil
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.TableName == "schema_migrations" {
		// Another process recorded the same file first; our transaction
		// rolled back, theirs stands.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("apply migration %s to schema %s: %w", m.Name, r.schema, err)
	}
	return ran, nil
}

// setSearchPath makes unqualified names in a migration resolve to the target
// schema first, then to pgvector's schema and public, until tx ends.
func (r runner) setSearchPath(ctx context.Context, tx pgx.Tx) error {
	path := []string{r.quoted}
	var ext *string
	err := tx.QueryRow(ctx, `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`).Scan(&ext)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("find pgvector's schema: %w", err)
	}
	if ext != nil && *ext != r.schema && *ext != "public" {
		path = append(path, pgx.Identifier{*ext}.Sanitize())
	}
	if r.schema != "public" {
		path = append(path, "public")
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, strings.Join(path, ", ")); err != nil {
		return fmt.Errorf("set search_path: %w", err)
	}
	return nil
}
