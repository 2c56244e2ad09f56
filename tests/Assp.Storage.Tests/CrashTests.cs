using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Assp.Storage.Tests;

/// <summary>
/// kill -9 of a process that writes through the store (tests/Assp.Storage.CrashHelper): every record written before
/// a Flush that returned must be in the file afterwards, and the file must pass SQLite's integrity_check.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private const int PerBatch = 400;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The test sends SIGKILL while the child keeps writing and flushing (often in the middle of a commit).</summary>
    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    public async Task Every_flushed_record_survives_kill_9_from_outside(int flushesBeforeKill)
    {
        int flushed = 0;
        using (var child = StartHelper())
        {
            try
            {
                var stderr = child.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (flushed < flushesBeforeKill)
                {
                    var line = await child.StandardOutput.ReadLineAsync(timeout.Token);
                    if (line is null) Assert.Fail("the helper ended early: " + await stderr);
                    if (line.StartsWith("flushed ", StringComparison.Ordinal)) flushed = int.Parse(line[8..]);
                }
                await Task.Delay(flushesBeforeKill);     // it is writing or committing the next batch now
            }
            finally
            {
                child.Kill();                  // SIGKILL on Linux: no finalizers, no Dispose, no last flush
                await child.WaitForExitAsync();
            }
            Assert.NotEqual(0, child.ExitCode);
        }
        AssertFileHasBatches(flushed);
    }

    /// <summary>
    /// The child sends itself SIGKILL the instant its Flush returns. Commits are a second apart, so only a Flush that
    /// really committed before returning leaves the last batch in the file.
    /// </summary>
    [Fact]
    public async Task Flush_is_durable_the_moment_it_returns()
    {
        using var child = StartHelper(killAfter: 5);
        var stdout = await child.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await child.WaitForExitAsync();
        Assert.Equal(128 + 9, child.ExitCode);      // died of SIGKILL
        Assert.Equal(["flushed 1", "flushed 2", "flushed 3", "flushed 4"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        AssertFileHasBatches(5);
    }

    private Process StartHelper(int killAfter = 0)
    {
        string helper = Path.Combine(AppContext.BaseDirectory, "Assp.Storage.CrashHelper.dll");
        Assert.True(File.Exists(helper), helper);
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(helper);
        psi.ArgumentList.Add(_dir.Db);
        psi.ArgumentList.Add(PerBatch.ToString());
        psi.ArgumentList.Add("1000");         // commits a second apart: within the test only Flush commits
        if (killAfter > 0) psi.ArgumentList.Add(killAfter.ToString());
        return Process.Start(psi)!;
    }

    private void AssertFileHasBatches(int flushed)
    {
        using (var conn = new SqliteConnection($"Data Source={_dir.Db};Pooling=False"))
        {
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", cmd.ExecuteScalar());
        }
        using var store = new SqliteStore(new SqliteStoreOptions { Path = _dir.Db });
        var white = store.Table(StoreTables.Whitelist);
        for (int batch = 1; batch <= flushed; batch++)
            for (int i = 0; i < PerBatch; i++)
            {
                Assert.True(white.TryGet($"k{batch}-{i}", out var rec), $"k{batch}-{i} lost (flushed {flushed})");
                Assert.Equal(new StoreRecord($"v{batch}-{i}", batch), rec);
            }
        Assert.True(white.Count >= flushed * PerBatch);
        Assert.True(store.Table(StoreTables.PbBlack).Count > 0);
    }
}
