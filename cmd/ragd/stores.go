package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ragd/ragd/migrations"
	"github.com/ragd/ragd/store/local"
	"github.com/ragd/ragd/store/postgres"
	"github.com/ragd/ragd/store/qdrant"
)

// openStore opens the configured index store. The Postgres store applies
// pending migrations as it opens.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (Store, error) {
	switch cfg.Store {
	case "local":
		db, err := local.Open(filepath.Join(cfg.DataDir, "index"), local.Options{})
		if err != nil {
			return nil, fmt.Errorf("local store: %w", err)
		}
		return db, nil
	case "postgres":
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Schema: cfg.DBSchema, Logger: logger.With("component", "postgres")})
		if err != nil {
			return nil, fmt.Errorf("postgres store: %w", err)
		}
		return db, nil
	case "qdrant":
		db, err := qdrant.Open(ctx, qdrant.Options{
			Addr:   cfg.QdrantURL,
			APIKey: cfg.QdrantAPIKey,
			Prefix: cfg.QdrantPrefix,
			Logger: logger.With("component", "qdrant"),
		})
		if err != nil {
			return nil, fmt.Errorf("qdrant store: %w", err)
		}
		// The sweep removes what interrupted writes (of any process) left
		// behind; Close stops it.
		go db.Run(context.Background())
		return db, nil
	}
	return nil, fmt.Errorf("store %q is not available in this build", cfg.Store)
}

// jobsPool opens a pool on the Postgres store's database whose sessions
// find ragd's schema first, for the job queue's tables.
func jobsPool(ctx context.Context, dsn, schema string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database_url: %w", err)
	}
	// SET rather than a startup parameter: servers that share one session
	// among clients (PGlite, some poolers) ignore startup parameters. public
	// stays on the path for the other clients of such a shared session,
	// which look up pgvector's type there.
	set := "SET search_path TO " + pgx.Identifier{schema}.Sanitize() + ", public"
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, set)
		return err
	}
	return pgxpool.NewWithConfig(ctx, pc)
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "migrate", "", "Apply pending database migrations to the Postgres store (serve also applies them at start-up).")
	f.config("database_url", "Postgres connection string (default $RAGD_DATABASE_URL)")
	f.config("database_schema", "Postgres schema holding ragd's tables (default ragd)")
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("migrate takes no arguments, got %q", f.Arg(0))
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("migrate needs database_url (RAGD_DATABASE_URL)")
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database_url: %w", err)
	}
	defer pool.Close()
	if err := migrations.ValidateSchema(cfg.DBSchema); err != nil {
		return fmt.Errorf("database_schema: %w", err)
	}
	pending, err := migrations.Pending(ctx, pool, cfg.DBSchema)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(pending) == 0 {
		fmt.Fprintf(env.Stdout, "schema %s is up to date\n", cfg.DBSchema)
		return nil
	}
	if err := migrations.ApplySchema(ctx, pool, cfg.DBSchema); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range pending {
		fmt.Fprintf(env.Stdout, "applied %s\n", name)
	}
	return nil
}
