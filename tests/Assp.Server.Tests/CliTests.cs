namespace Assp.Server.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "assp-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await Cli.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The web admin and stat ports on free loopback ports: a test never listens on all interfaces.</summary>
    private static string[] LoopbackWeb() =>
        ["--set", $"webAdminPort=127.0.0.1:{FreePort()}", "--set", $"webStatPort=127.0.0.1:{FreePort()}"];

    [Fact]
    public async Task Run_with_a_fresh_base_creates_a_working_folder_and_stops_cleanly()
    {
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        int port = FreePort();
        var run = Cli.RunAsync(["run", "--base", _base, "--set", "MaxErrors=7", "--set", $"listenPort=127.0.0.1:{port}", .. LoopbackWeb()], output, new StringWriter(), stop.Token);
        var log = Path.Combine(_base, "logs", "maillog.txt");
        for (int i = 0; i < 200 && !(File.Exists(log) && File.ReadAllText(log).Contains("ready;")); i++) await Task.Delay(50);

        // While it runs: status names the listener, jobs lists the scheduled maintenance.
        var (statusExit, statusText, _) = await Run("status", "--base", _base);
        Assert.Equal(0, statusExit);
        Assert.Contains($"listenPort 127.0.0.1:{port}", statusText);
        var (jobsExit, jobsText, _) = await Run("jobs", "--base", _base);
        Assert.Equal(0, jobsExit);
        Assert.Contains("MaxLogAge", jobsText);
        Assert.Contains("0 1 * * *", jobsText);
        Assert.Contains("GroupsReload", jobsText);

        stop.Cancel();
        Assert.Equal(0, await run);
        Assert.Equal(3, (await Run("status", "--base", _base)).Exit);

        Assert.True(File.Exists(Path.Combine(_base, "assp.cfg")));
        foreach (var folder in new[] { "files", "logs", "spam", "notspam", "okmail", "errors/spam", "errors/notspam", "quarantine" })
            Assert.True(Directory.Exists(Path.Combine(_base, folder)), folder);
        var cfg = File.ReadAllLines(Path.Combine(_base, "assp.cfg"));
        Assert.Equal("ConfigSavedOK:=1", cfg[^1]);
        Assert.Contains("listenPort:=25", cfg);   // ASSP's default stays in the file; --set only applied to this run
        Assert.Equal(1137 + 1 + 1, cfg.Length);   // ASSP's options (incl. the ASSP_AFC plugin's eighteen), BayesAlgorithm (this build only), ConfigSavedOK
        var text = File.ReadAllText(log);
        Assert.Contains("starting in", text);
        Assert.Contains("stopping", text);
        // --set changes this run only, never the file.
        Assert.Contains("MaxErrors:=5", cfg);

        // The fresh folder is clean: no errors and no warnings.
        var (exit, check, _) = await Run("check-config", "--base", _base);
        Assert.Equal(0, exit);
        Assert.Contains("0 errors, 0 warnings", check);
    }

    [Fact]
    public async Task RestartEvery_stops_for_a_restart_with_the_restart_exit_code()
    {
        var run = Cli.RunAsync(["run", "--base", _base, "--set", $"listenPort=127.0.0.1:{FreePort()}", "--set", "RestartEvery=2", .. LoopbackWeb()],
            new StringWriter(), new StringWriter());
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, "no restart within 30 s");
        Assert.Equal(ProxyHost.RestartExitCode, await run);
        var log = File.ReadAllText(Path.Combine(_base, "logs", "maillog.txt"));
        Assert.Contains("restart requested: RestartEvery", log);
    }

    [Fact]
    public async Task AutoRestartCmd_is_run_for_a_restart()
    {
        var marker = Path.Combine(_base, "restarted.txt");
        Directory.CreateDirectory(_base);
        var run = Cli.RunAsync(["run", "--base", _base, "--set", $"listenPort=127.0.0.1:{FreePort()}", "--set", "RestartEvery=2",
            "--set", $"AutoRestartCmd=echo again > {marker}", .. LoopbackWeb()], new StringWriter(), new StringWriter());
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, "no restart within 30 s");
        Assert.Equal(0, await run);
        for (int i = 0; i < 100 && !File.Exists(marker); i++) await Task.Delay(50);
        Assert.True(File.Exists(marker));
    }

    [Fact]
    public async Task Check_config_names_the_option_the_value_and_the_line()
    {
        Directory.CreateDirectory(_base);
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "myName:=mx.example.org\nMaxErrors:=plenty\nConfigSavedOK:=1\n");
        var (exit, output, _) = await Run("check-config", "--base", _base);
        Assert.Equal(1, exit);
        var row = output.Split('\n').Single(l => l.Contains("MaxErrors"));
        Assert.Contains("assp.cfg:2", row);
        Assert.Contains("plenty", row);
        Assert.Contains("whole number", row);
        Assert.Contains("1 errors", output);
    }

    [Fact]
    public async Task Check_config_reports_bad_list_entries_in_files()
    {
        Directory.CreateDirectory(Path.Combine(_base, "files"));
        File.WriteAllText(Path.Combine(_base, "files", "ips.txt"), "10.0.0.0/8\n999.1.1.1\n");
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "whiteListedIPs:=file:files/ips.txt\nConfigSavedOK:=1\n");
        var (exit, output, _) = await Run("check-config", "--base", _base);
        Assert.Equal(1, exit);
        Assert.Contains("files/ips.txt:2", output);
        Assert.Contains("whiteListedIPs", output);
    }

    [Fact]
    public async Task Show_config_lists_changed_options_with_their_defaults_and_hides_secrets()
    {
        Directory.CreateDirectory(_base);
        File.WriteAllText(Path.Combine(_base, "assp.cfg"), "MaxErrors:=9\nwebAdminPassword:=TopSecret1\nValidateSPF:=2\nConfigSavedOK:=1\n");
        var (exit, output, _) = await Run("show-config", "--base", _base, "--changed");
        Assert.Equal(0, exit);
        Assert.Contains("MaxErrors", output);
        Assert.Contains("2:monitor", output);
        Assert.DoesNotContain("TopSecret1", output);
        Assert.Contains("3 options shown", output);
        Assert.DoesNotContain("listenPort", output);
    }

    [Fact]
    public async Task Bad_set_arguments_are_refused()
    {
        var (exit, _, err) = await Run("run", "--base", _base, "--set", "MaxErrors");
        Assert.Equal(2, exit);
        Assert.Contains("name=value", err);
        var output = new StringWriter();
        Assert.Equal(2, await Cli.RunAsync(["run", "--base", _base, "--set", "MaxErrors=x"], output, new StringWriter()));
        Assert.Contains("MaxErrors", output.ToString());
    }
}
