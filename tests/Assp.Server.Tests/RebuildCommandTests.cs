namespace Assp.Server.Tests;

/// <summary>`assp rebuild` builds spamdb from the corpus folders into the instance's store, where `assp db status` sees it.</summary>
public sealed class RebuildCommandTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-rebuild-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private static async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = await Cli.RunAsync(args, output, new StringWriter());
        return (exit, output.ToString());
    }

    private void Mail(string folder, int n, string subject, string body)
    {
        Directory.CreateDirectory(Path.Combine(_base, folder));
        File.WriteAllText(Path.Combine(_base, folder, $"{n}.eml"),
            $"From: someone{n}@example.org\r\nTo: user@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n");
    }

    [Fact]
    public async Task Rebuild_fills_spamdb_from_the_spam_and_notspam_folders()
    {
        Directory.CreateDirectory(_base);
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "");
        for (int i = 0; i < 20; i++)
        {
            Mail("spam", i, "cheap pills discount offer", "buy cheap pills now with a huge discount offer click here today");
            Mail("notspam", i, "project meeting notes", "the project meeting moved to thursday please review the attached notes");
        }

        var (exit, text) = await Run("rebuild", "--base", _base);
        Assert.True(exit == 0, text);

        var (statusExit, status) = await Run("db", "status", "--base", _base);
        Assert.Equal(0, statusExit);
        var line = status.Split('\n').FirstOrDefault(l => l.Contains(" spamdb ", StringComparison.Ordinal));
        Assert.NotNull(line);
        var count = long.Parse(new string(line!.Split('│', StringSplitOptions.RemoveEmptyEntries)[^1].Where(char.IsDigit).ToArray()));
        Assert.True(count > 10, status);
    }
}

public class RebuildFileTimeLimitTests
{
    [Theory]
    [InlineData("1 5", 1, 5)]
    [InlineData("15", 15, 0)]
    [InlineData("0,3.5", 0, 3.5)]
    [InlineData("", 0, 0)]
    public void The_option_gives_a_log_and_a_move_limit(string value, double log, double move)
    {
        var (l, m) = SpamDbRebuild.FileTimeLimits(value);
        Assert.Equal(TimeSpan.FromSeconds(log), l);
        Assert.Equal(TimeSpan.FromSeconds(move), m);
    }

    [Fact]
    public void The_options_point_slow_files_at_rebuild_error_under_the_base_folder()
    {
        var dir = Directory.CreateTempSubdirectory("assp-rftl-").FullName;
        var cfg = new Assp.Config.ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
            .Load(new Assp.Config.ConfigSource(dir, Overrides: [KeyValuePair.Create("RebuildFileTimeLimit", "2 9")]));
        var options = SpamDbRebuild.Options(cfg);
        Assert.Equal(TimeSpan.FromSeconds(2), options.SlowFileLog);
        Assert.Equal(TimeSpan.FromSeconds(9), options.SlowFileMove);
        Assert.Equal(Path.Combine(cfg.BaseDirectory, "rebuild_error"), options.SlowFileFolder);
        Directory.Delete(dir, true);
    }
}
