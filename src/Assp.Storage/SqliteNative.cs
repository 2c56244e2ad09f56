using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Assp.Storage;

/// <summary>
/// One SQLite connection used through the raw API for the hot statements (a point read costs about a
/// microsecond this way, several through ADO.NET). Microsoft.Data.Sqlite opens it and owns the native library.
/// Not thread-safe: each connection belongs to one user at a time (the writer thread, or a rented reader).
/// </summary>
internal sealed class NativeConnection : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, NativeStatement> _statements = new(StringComparer.Ordinal);

    public NativeConnection(string path)
    {
        Path = path;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
        }.ToString());
        _connection.Open();
        Handle = _connection.Handle ?? throw new InvalidOperationException("SQLite returned no connection handle.");
        raw.sqlite3_busy_timeout(Handle, 10_000);
    }

    public string Path { get; }
    public sqlite3 Handle { get; }

    public void Exec(string sql) => Check(raw.sqlite3_exec(Handle, sql));

    /// <summary>Runs a statement that returns one text or number (PRAGMA answers).</summary>
    public string? Scalar(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()?.ToString();
    }

    /// <summary>A prepared statement kept for the life of the connection (keyed by its SQL).</summary>
    public NativeStatement Cached(string sql)
    {
        if (!_statements.TryGetValue(sql, out var st))
        {
            st = Prepare(sql);
            _statements[sql] = st;
        }
        return st;
    }

    public NativeStatement Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(Handle, sql, out var stmt));
        return new NativeStatement(this, stmt);
    }

    public void Check(int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
            SqliteException.ThrowExceptionForRC(rc, Handle);
    }

    public void Dispose()
    {
        foreach (var st in _statements.Values) st.Dispose();
        _statements.Clear();
        _connection.Dispose();
    }
}

internal sealed class NativeStatement(NativeConnection owner, sqlite3_stmt stmt) : IDisposable
{
    public void BindText(int index, string value) => owner.Check(raw.sqlite3_bind_text16(stmt, index, value));
    public void BindInt64(int index, long value) => owner.Check(raw.sqlite3_bind_int64(stmt, index, value));

    /// <summary>Advances; true while there is a row.</summary>
    public bool Step()
    {
        int rc = raw.sqlite3_step(stmt);
        if (rc == raw.SQLITE_ROW) return true;
        if (rc == raw.SQLITE_DONE) return false;
        raw.sqlite3_reset(stmt);
        owner.Check(rc);
        return false;
    }

    /// <summary>Runs to the end (writes).</summary>
    public void Run()
    {
        try { while (Step()) { } }
        finally { Reset(); }
    }

    public void Reset()
    {
        raw.sqlite3_reset(stmt);
        raw.sqlite3_clear_bindings(stmt);
    }

    public ReadOnlySpan<byte> Utf8(int column) => raw.sqlite3_column_blob(stmt, column);
    public string Text(int column) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(stmt, column));
    public long Int64(int column) => raw.sqlite3_column_int64(stmt, column);

    public void Dispose() => stmt.Dispose();
}

/// <summary>Turns SQLite errors into one exception naming the file and saying what is wrong in plain words.</summary>
internal static class SqliteErrors
{
    public static StoreFileException Describe(string path, SqliteException ex)
    {
        string problem = (ex.SqliteErrorCode & 0xFF) switch
        {
            11 => "the database is corrupt (SQLite: " + ex.Message + ")",
            26 => "this is not an SQLite database or it is encrypted (SQLite: " + ex.Message + ")",
            10 => "an I/O error occurred reading or writing it (SQLite: " + ex.Message + ")",
            14 => "it cannot be opened (SQLite: " + ex.Message + ")",
            13 => "the disk is full (SQLite: " + ex.Message + ")",
            8 => "it is read-only (SQLite: " + ex.Message + ")",
            23 or 3 => "access was denied (SQLite: " + ex.Message + ")",
            5 or 6 => "it is locked by another process (SQLite: " + ex.Message + ")",
            _ => "SQLite error " + ex.SqliteErrorCode + ": " + ex.Message,
        };
        return new StoreFileException(path, problem, ex);
    }
}
