package migrations

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ApplyFS applies the migrations in fsys, for tests of the runner.
func ApplyFS(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) ([]string, error) {
	ms, err := load(fsys)
	if err != nil {
		return nil, err
	}
	return apply(ctx, pool, schema, ms)
}
