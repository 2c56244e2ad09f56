using Assp.Config.Files;
using Assp.EndToEnd.Tests.Infrastructure;
using Assp.EndToEnd.Tests.Proxy;
using Xunit.Abstractions;

namespace Assp.EndToEnd.Tests.Service;

/// <summary>
/// The built `assp` run as a real service: started as root on a privileged port in front of a private Postfix,
/// running as nobody afterwards, reloading on SIGHUP without dropping a session, reporting its status, stopping on
/// SIGTERM; plus `assp init`, `assp install-service` and the Debian package. The tests of this class run one after
/// another (xunit runs a class's tests sequentially); every process they start is ended in a finally.
/// </summary>
public sealed class ServiceTests : IDisposable
{
    // A limit, not a pace: a passing run never waits for it, and a machine loaded far beyond its cores needs it.
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(45);   // the unit's TimeoutStopSec
    private readonly string _dir;
    private readonly ITestOutputHelper _output;

    public ServiceTests(ITestOutputHelper output)
    {
        _output = output;
        _dir = Directory.CreateTempSubdirectory("assp-service-").FullName;
        // The service becomes nobody: it must reach its base folder and the notify socket in here.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private const string InProgressMessage = "From: sender@client.example\r\nTo: user@example.com\r\nSubject: started before the reload\r\n\r\nfinished after it\r\n";
    private const string NewDomainMessage = "From: sender@client.example\r\nTo: user@new.example\r\nSubject: for the reloaded domain\r\n\r\nhello\r\n";

    /// <summary>
    /// A base folder made by `assp init --user nobody` (so runAsUser:=nobody, runAsGroup:=nogroup), with listenPort on
    /// the given port, Postfix as smtpDestination and localDomains from files/localdomains.txt.
    /// </summary>
    private async Task<string> PrepareBaseAsync(string name, int listenPort, int mtaPort)
    {
        var baseDir = Path.Combine(_dir, name);
        var (exit, output) = await Repo.RunAssp(Quick, "init", "--base", baseDir, "--user", "nobody");
        Assert.True(exit == 0, output);
        var cfgPath = Path.Combine(baseDir, "assp.cfg");
        var cfg = AsspConfigFile.Load(cfgPath);
        Assert.Equal("nobody", cfg.Get("runAsUser"));
        Assert.Equal("nogroup", cfg.Get("runAsGroup"));
        cfg.Set("listenPort", $"127.0.0.1:{listenPort}");
        cfg.Set("smtpDestination", $"127.0.0.1:{mtaPort}");
        cfg.Set("localDomains", "file:files/localdomains.txt");
        cfg.Set("myName", "proxy.assp-e2e.test");
        cfg.Set("maxSMTPipSessions", "0");
        // Own web ports: another instance of the suite may hold the defaults (55555, 55553).
        cfg.Set("webAdminPort", $"127.0.0.1:{Ports.FreeUnprivileged()}");
        cfg.Set("webStatPort", $"127.0.0.1:{Ports.FreeUnprivileged()}");
        // List files are re-read only when asked (SIGHUP) during the test, not by the periodic check.
        cfg.Set("ReloadOptionFiles", "3600");
        cfg.Save(cfgPath);
        await File.WriteAllTextAsync(Path.Combine(baseDir, "files", "localdomains.txt"), "# local domains\nexample.com\n");
        return baseDir;
    }

    /// <summary>Starts the service on a free privileged port (another one when a race took it); waits for "ready".</summary>
    private async Task<(AsspService Service, int Port)> StartOnPrivilegedPortAsync(string name, int mtaPort, NotifySocket? notify)
    {
        foreach (var port in Ports.FreePrivileged().Take(3))
        {
            var baseDir = await PrepareBaseAsync(name + "-" + port, port, mtaPort);
            var service = AsspService.Start(baseDir, notify?.Path);
            try
            {
                await service.WaitForLogAsync("ready;", Quick);
                return (service, port);
            }
            catch (TimeoutException) when (service.Output.Contains("in use", StringComparison.OrdinalIgnoreCase) && service.HasExited)
            {
                service.Dispose();   // someone took the port between the check and the bind: try the next one
            }
            catch
            {
                service.Dispose();
                throw;
            }
        }
        throw new InvalidOperationException("no free privileged port on 127.0.0.1 could be bound");
    }

    [RootFact]
    public async Task Runs_as_root_on_a_privileged_port_drops_to_nobody_reloads_on_SIGHUP_without_dropping_a_session_and_stops_on_SIGTERM()
    {
        await using var mta = await PostfixInstance.StartAsync();
        using var notify = new NotifySocket(_dir);
        var (service, port) = await StartOnPrivilegedPortAsync("a", mta.Port, notify);
        using var _ = service;

        // (a) The privileged port is bound by the proxy, and the process is nobody/nogroup for good: every thread,
        // real, effective, saved and filesystem ids, no supplementary group left from root.
        var log = await service.WaitForLogAsync("running as user nobody group nogroup from now on", Quick);
        Assert.Contains($"listening for SMTP on 127.0.0.1:{port} (listenPort)", log);
        Assert.True(Ports.IsListening(port), $"nothing listens on 127.0.0.1:{port}");
        var threads = service.ThreadIdentities();
        Assert.NotEmpty(threads);
        foreach (var (thread, uids, gids, groups) in threads)
        {
            Assert.True(uids.All(u => u == 65534), $"thread {thread}: Uid {string.Join(',', uids)}");
            Assert.True(gids.All(g => g == 65534), $"thread {thread}: Gid {string.Join(',', gids)}");
            Assert.True(groups.Length == 0 || groups.Split(' ').All(g => g == "65534"), $"thread {thread}: Groups {groups}");
        }
        // systemd's Type=notify handshake, sent once the port is bound and root is given up.
        var ready = await notify.WaitForAsync("READY=1", Quick);
        Assert.Contains($"MAINPID={service.Pid}", ready);
        Assert.Contains($"127.0.0.1:{port}", ready);
        // The pid file (pidfile, default "pid" in the base) names this process.
        Assert.Equal(service.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (await File.ReadAllTextAsync(Path.Combine(service.BaseDirectory, "pid"))).Trim());
        // The maillog lines also go to stdout (what journald records under systemd).
        Assert.Contains("ready;", service.Output);

        // (b) A session in progress: EHLO, MAIL, RCPT done, DATA not yet sent. new.example is not local yet.
        await using var first = await TestSmtpClient.ConnectAsync(port);
        var greeting = await first.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        Assert.Contains(PostfixInstance.HostName, greeting.Text);   // the proxy reached Postfix for this session
        Assert.Equal(250, (await first.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await first.CommandAsync("MAIL FROM:<sender@client.example>")).Code);
        Assert.Equal(250, (await first.CommandAsync("RCPT TO:<user@example.com>")).Code);
        Assert.Equal(530, (await first.CommandAsync("RCPT TO:<user@new.example>")).Code);

        await File.AppendAllTextAsync(Path.Combine(service.BaseDirectory, "files", "localdomains.txt"), "new.example\n");
        // A second client before the reload: still refused, the list file alone changes nothing yet.
        await using (var before = await TestSmtpClient.ConnectAsync(port))
        {
            await before.ReadReplyAsync();
            await before.CommandAsync("EHLO client.example");
            await before.CommandAsync("MAIL FROM:<sender@client.example>");
            Assert.Equal(530, (await before.CommandAsync("RCPT TO:<user@new.example>")).Code);
            await before.CommandAsync("QUIT");
        }

        service.Signal("HUP");
        await service.WaitForLogAsync("configuration reloaded (SIGHUP)", Quick);
        Assert.False(service.HasExited);

        await using (var second = await TestSmtpClient.ConnectAsync(port))
        {
            Assert.Equal(220, (await second.ReadReplyAsync()).Code);
            var final = await second.SendMailAsync("sender@client.example", ["user@new.example"], NewDomainMessage);
            Assert.Equal(250, final.Code);
            Assert.Equal(221, (await second.CommandAsync("QUIT")).Code);
        }

        // The session that was open across the reload finishes its message.
        Assert.Equal(354, (await first.CommandAsync("DATA")).Code);
        await first.SendAsync(TestSmtpClient.DotStuff(InProgressMessage) + ".\r\n");
        Assert.Equal(250, (await first.ReadReplyAsync()).Code);
        Assert.Equal(221, (await first.CommandAsync("QUIT")).Code);

        var delivered = await mta.WaitForMessagesAsync(2, Quick);
        Assert.Equal(2, delivered.Count);
        var inProgress = Assert.Single(delivered, m => m.Text.Contains("Subject: started before the reload", StringComparison.Ordinal));
        Assert.Equal(["user@example.com"], inProgress.Recipients);
        Assert.Contains("finished after it", inProgress.Text);
        var reloaded = Assert.Single(delivered, m => m.Text.Contains("Subject: for the reloaded domain", StringComparison.Ordinal));
        Assert.Equal(["user@new.example"], reloaded.Recipients);

        // (c) assp status prints the pid and the listeners.
        var (statusExit, status) = await Repo.RunAssp(Quick, "status", "--base", service.BaseDirectory);
        Assert.True(statusExit == 0, status);
        Assert.Contains(service.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), status);
        Assert.Contains($"listenPort 127.0.0.1:{port}", status);

        // (d) SIGTERM: a clean exit with code 0, the pid file removed, "stopped" the last maillog line.
        service.Signal("TERM");
        Assert.True(await service.WaitForExitAsync(StopTimeout), "assp did not exit within 45 s after SIGTERM\n" + service.Output);
        Assert.True(service.ExitCode == 0, $"exit code {service.ExitCode}\n{service.Output}");
        Assert.False(File.Exists(Path.Combine(service.BaseDirectory, "pid")));
        Assert.False(File.Exists(Path.Combine(service.BaseDirectory, "tmp", "status.json")));
        var lines = service.ReadMaillog().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("ASSP for .NET stopped", lines[^1]);
        Assert.Contains(notify.Messages, m => m.Contains("STOPPING=1", StringComparison.Ordinal));
        Assert.False(Ports.IsListening(port), $"something still listens on port {port} after the exit");
    }

    [RootFact]
    public async Task The_reload_and_stop_verbs_signal_the_instance_of_the_base_folder()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var (service, port) = await StartOnPrivilegedPortAsync("b", mta.Port, notify: null);
        using var _ = service;
        await service.WaitForLogAsync("running as user nobody", Quick);

        await File.AppendAllTextAsync(Path.Combine(service.BaseDirectory, "files", "localdomains.txt"), "new.example\n");
        var (reloadExit, reload) = await Repo.RunAssp(Quick, "reload", "--base", service.BaseDirectory);
        Assert.True(reloadExit == 0, reload);
        Assert.Contains($"signal sent to pid {service.Pid}", reload);
        await service.WaitForLogAsync("configuration reloaded (SIGHUP)", Quick);
        await using (var client = await TestSmtpClient.ConnectAsync(port))
        {
            await client.ReadReplyAsync();
            Assert.Equal(250, (await client.SendMailAsync("sender@client.example", ["user@new.example"], NewDomainMessage)).Code);
            await client.CommandAsync("QUIT");
        }
        Assert.Single(await mta.WaitForMessagesAsync(1, Quick));

        var (stopExit, stop) = await Repo.RunAssp(StopTimeout + Quick, "stop", "--base", service.BaseDirectory);
        Assert.True(stopExit == 0, stop);
        Assert.Contains($"pid {service.Pid} has ended", stop);
        Assert.True(await service.WaitForExitAsync(Quick));
        Assert.True(service.ExitCode == 0, $"exit code {service.ExitCode}\n{service.Output}");
        Assert.False(File.Exists(Path.Combine(service.BaseDirectory, "pid")));
        Assert.EndsWith("ASSP for .NET stopped", service.ReadMaillog().TrimEnd());

        var (statusExit, status) = await Repo.RunAssp(Quick, "status", "--base", service.BaseDirectory);
        Assert.Equal(3, statusExit);
        Assert.Contains("not running", status);
    }

    [RootFact]
    public async Task SIGTERM_lets_a_transfer_in_progress_finish_even_when_that_takes_longer_than_two_seconds()
    {
        await using var mta = await PostfixInstance.StartAsync();
        var (service, port) = await StartOnPrivilegedPortAsync("c", mta.Port, notify: null);
        using var _ = service;
        await using var client = await TestSmtpClient.ConnectAsync(port);
        await client.ReadReplyAsync();
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@client.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<user@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("From: sender@client.example\r\nSubject: in flight at SIGTERM\r\n\r\nfirst line\r\n");

        // The stop has to be over before the next 5-second status tick: ProxyHost's status timer crashes the process
        // when it fires during a stop (see the report). So SIGTERM goes right after a tick (status.json rewritten).
        var status = Path.Combine(service.BaseDirectory, "tmp", "status.json");
        var written = File.GetLastWriteTimeUtc(status);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (File.GetLastWriteTimeUtc(status) == written && DateTime.UtcNow < until) await Task.Delay(20);
        service.Signal("TERM");
        await service.WaitForLogAsync("(MaxFinConWaitTime) for 1 sessions to finish", Quick);

        // Longer than System.CommandLine's own 2-second termination timeout, which used to end the process with 143.
        for (int i = 0; i < 6; i++)
        {
            await Task.Delay(400);
            await client.SendAsync($"line {i}\r\n");
        }
        Assert.False(service.HasExited, "the proxy ended while a transfer was in progress\n" + service.Output);
        await client.SendAsync(".\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);

        Assert.True(await service.WaitForExitAsync(StopTimeout), service.Output);
        Assert.True(service.ExitCode == 0, $"exit code {service.ExitCode}\n{service.Output}");
        Assert.EndsWith("ASSP for .NET stopped", service.ReadMaillog().TrimEnd());
        Assert.False(File.Exists(Path.Combine(service.BaseDirectory, "pid")));
        var got = Assert.Single(await mta.WaitForMessagesAsync(1, Quick));
        Assert.Contains("line 5", got.Text);
    }

    [Fact]
    public async Task Init_writes_the_same_base_folder_as_a_first_run()
    {
        var byInit = Path.Combine(_dir, "init");
        var byRun = Path.Combine(_dir, "run");
        var (exit, output) = await Repo.RunAssp(Quick, "init", "--base", byInit);
        Assert.True(exit == 0, output);
        Assert.Contains("Prepared base folder", output);

        // `run` creates its folder itself; its listener goes to a free unprivileged port for this run only (--set
        // does not touch assp.cfg).
        using (var service = AsspService.Start(byRun, extra: ["--set", $"listenPort=127.0.0.1:{Ports.FreeUnprivileged()}"]))
        {
            await service.WaitForLogAsync("ready;", Quick);
            service.Signal("TERM");
            Assert.True(await service.WaitForExitAsync(StopTimeout), service.Output);
            Assert.True(service.ExitCode == 0, $"exit code {service.ExitCode}\n--- output ---\n{service.Output}\n--- maillog ---\n{service.ReadMaillog()}");
        }
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(byRun, "assp.cfg")), await File.ReadAllTextAsync(Path.Combine(byInit, "assp.cfg")));
        static string[] Tree(string root) => Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => !p.StartsWith("logs/", StringComparison.Ordinal) && !p.StartsWith("tmp/", StringComparison.Ordinal)
                && !p.StartsWith("certs/", StringComparison.Ordinal) && !p.StartsWith("data/", StringComparison.Ordinal)
                && p != "files/group_export")   // written by the running proxy
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Tree(byRun), Tree(byInit));

        // A second init changes nothing.
        (exit, output) = await Repo.RunAssp(Quick, "init", "--base", byInit);
        Assert.True(exit == 0, output);
        Assert.Contains("nothing created", output);
    }

    private const string ServiceUnitPath = "/etc/systemd/system/assp.service";

    private static bool UserExists(string name) => File.ReadLines("/etc/passwd").Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    private static bool GroupExists(string name) => File.ReadLines("/etc/group").Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    private static bool SystemdRuns => Directory.Exists("/run/systemd/system");

    /// <summary>The unit text that install-service --dry-run prints between its two rules.</summary>
    private static string UnitFrom(string output)
    {
        var lines = output.Split('\n');
        int start = Array.FindIndex(lines, l => l.StartsWith("── " + ServiceUnitPath, StringComparison.Ordinal));
        Assert.True(start >= 0, output);
        int end = Array.FindIndex(lines, start + 1, l => l.StartsWith("──────", StringComparison.Ordinal));
        Assert.True(end > start, output);
        return string.Join('\n', lines[(start + 1)..end]) + "\n";
    }

    [Fact]
    public async Task Install_service_dry_run_prints_the_packaged_unit_and_the_steps_and_changes_nothing()
    {
        // Held so that no other test run installs or removes the service while this one checks that nothing changed.
        using var machine = await SystemLock.AcquireAsync(TimeSpan.FromMinutes(3));
        var unitBefore = File.Exists(ServiceUnitPath) ? File.GetLastWriteTimeUtc(ServiceUnitPath) : (DateTime?)null;
        var baseBefore = Directory.Exists("/var/lib/assp");

        var (exit, output) = await Repo.RunAssp(Quick, "install-service", "--dry-run", "--binary", "/usr/bin/assp");
        Assert.True(exit == 0, output);
        Assert.Contains("Dry run", output);
        // Without --base a service gets /var/lib/assp, and the unit is exactly the one the .deb ships.
        var packaged = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "packaging", "assp.service"));
        Assert.Equal(packaged, UnitFrom(output));
        foreach (var step in new[] { "/var/lib/assp", "runAsUser", "systemctl daemon-reload", "systemctl enable assp.service", ServiceUnitPath })
            Assert.Contains(step, output);
        if (!UserExists("assp"))
            Assert.Contains("useradd --system --user-group --no-create-home --home-dir /var/lib/assp --shell", output);
        if (!SystemdRuns) Assert.Contains("not run: systemd is not PID 1", output);

        if (machine is not null)
        {
            Assert.Equal(unitBefore, File.Exists(ServiceUnitPath) ? File.GetLastWriteTimeUtc(ServiceUnitPath) : null);
            Assert.Equal(baseBefore, Directory.Exists("/var/lib/assp"));
        }

        // Another base (with a blank in its name) and user; the binary is the one running.
        var other = Path.Combine(_dir, "svc base");
        (exit, output) = await Repo.RunAssp(Quick, "install-service", "--dry-run", "--base", other, "--user", "nobody");
        Assert.True(exit == 0, output);
        var unit = UnitFrom(output);
        var (binary, prefix) = Repo.Assp();
        Assert.Contains(prefix.Length == 0 ? $"ExecStart={binary} run --base \"{other}\"\n" : $"{prefix[0]} run --base \"{other}\"\n", unit);
        Assert.Contains("exists (uid 65534, group nogroup)", output);
        Assert.False(Directory.Exists(other));

        // systemd itself accepts the unit (systemd-analyze verify needs no running systemd; it checks ExecStart exists).
        if (File.Exists("/usr/bin/systemd-analyze") && prefix.Length == 0)
        {
            var unitFile = Path.Combine(_dir, "assp.service");
            await File.WriteAllTextAsync(unitFile, unit);
            var (verifyExit, verify) = await Repo.RunAsync("/usr/bin/systemd-analyze", ["verify", unitFile], Quick);
            Assert.True(verifyExit == 0 && verify.Trim().Length == 0, verify);
        }
    }

    [RootFact]
    public async Task Install_service_creates_the_user_the_base_folder_and_the_unit()
    {
        const string user = "asspe2e";
        // It writes /etc/systemd/system/assp.service and adds a user: only on a machine where neither is there and
        // systemd does not run (so nothing is enabled for real); everything is removed again at the end.
        using var machine = await SystemLock.AcquireAsync(TimeSpan.FromMinutes(3));
        if (machine is null || File.Exists(ServiceUnitPath) || SystemdRuns || UserExists(user) || GroupExists(user))
        {
            _output.WriteLine($"{nameof(Install_service_creates_the_user_the_base_folder_and_the_unit)}: not run here " +
                "(another test run changes the system, an assp.service exists, systemd runs, or the test user exists)");
            return;
        }
        var baseDir = Path.Combine(_dir, "installed");
        try
        {
            var (exit, output) = await Repo.RunAssp(TimeSpan.FromMinutes(2), "install-service", "--base", baseDir, "--user", user);
            Assert.True(exit == 0, output);
            Assert.Contains("created", output);
            Assert.Contains("not run: systemd is not PID 1", output);

            var passwd = File.ReadLines("/etc/passwd").Single(l => l.StartsWith(user + ":", StringComparison.Ordinal)).Split(':');
            Assert.Equal(baseDir, passwd[5]);
            Assert.Equal("/usr/sbin/nologin", passwd[6]);
            Assert.True(int.Parse(passwd[2], System.Globalization.CultureInfo.InvariantCulture) < 1000, "a system user: " + string.Join(':', passwd));
            Assert.True(GroupExists(user));

            var cfg = AsspConfigFile.Load(Path.Combine(baseDir, "assp.cfg"));
            Assert.Equal(user, cfg.Get("runAsUser"));
            Assert.Equal(user, cfg.Get("runAsGroup"));
            var (_, owner) = await Repo.RunAsync("stat", ["-c", "%U:%G", baseDir, Path.Combine(baseDir, "assp.cfg"), Path.Combine(baseDir, "files")], Quick);
            Assert.All(owner.Trim().Split('\n'), o => Assert.Equal($"{user}:{user}", o));

            var (binary, prefix) = Repo.Assp();
            var unit = await File.ReadAllTextAsync(ServiceUnitPath);
            Assert.Contains($"ExecStart={(prefix.Length == 0 ? binary : prefix[0])}", unit);
            Assert.Contains($"run --base {baseDir}\n", unit);
            Assert.Contains("Type=notify", unit);

            // Again: nothing to do but the unit, assp.cfg untouched.
            var cfgBytes = await File.ReadAllBytesAsync(Path.Combine(baseDir, "assp.cfg"));
            (exit, output) = await Repo.RunAssp(TimeSpan.FromMinutes(2), "install-service", "--base", baseDir, "--user", user);
            Assert.True(exit == 0, output);
            Assert.Contains("exists", output);
            Assert.Contains("already set", output);
            Assert.Equal(cfgBytes, await File.ReadAllBytesAsync(Path.Combine(baseDir, "assp.cfg")));
        }
        finally
        {
            File.Delete(ServiceUnitPath);
            if (UserExists(user)) await Repo.RunAsync("userdel", [user], Quick);
            if (GroupExists(user)) await Repo.RunAsync("groupdel", [user], Quick);
        }
        Assert.False(UserExists(user));
    }

    [DebFact]
    public async Task The_debian_package_installs_runs_as_assp_stops_on_remove_and_purges_cleanly()
    {
        // Build it as a release would: scripts/publish.sh, then packaging/build-deb.sh (gzip: quicker than xz here).
        var publishDir = Path.Combine(_dir, "publish");
        var (exit, output) = await Repo.RunAsync("bash", [Path.Combine(Repo.Root, "scripts", "publish.sh"), publishDir], TimeSpan.FromMinutes(20));
        Assert.True(exit == 0, output);
        var kind = output.TrimEnd().Split('\n')[^1];
        Assert.True(kind is "publish: self-contained" or "publish: framework-dependent", output);
        var debDir = Path.Combine(_dir, "deb");
        (exit, output) = await Repo.RunAsync("bash", [Path.Combine(Repo.Root, "packaging", "build-deb.sh"), "--publish-dir", publishDir, "--out", debDir],
            TimeSpan.FromMinutes(5), new Dictionary<string, string?> { ["DEB_COMPRESSION"] = "gzip" });
        Assert.True(exit == 0, output);
        var deb = output.TrimEnd().Split('\n')[^1];
        Assert.True(File.Exists(deb), output);
        Assert.Matches(@"/assp_[0-9][0-9A-Za-z.~+-]*_amd64\.deb$", deb);

        var (_, contents) = await Repo.RunAsync("dpkg-deb", ["--contents", deb], Quick);
        foreach (var path in new[] { "./usr/bin/assp", "./lib/systemd/system/assp.service", "./usr/share/doc/assp/install.md", "./usr/share/doc/assp/copyright" })
            Assert.Contains(path, contents);
        var (_, info) = await Repo.RunAsync("dpkg-deb", ["--info", deb], Quick);
        foreach (var field in new[] { "Package: assp", "Architecture: amd64", "postinst", "prerm", "postrm", "Depends:" })
            Assert.Contains(field, info);
        bool selfContained = kind.EndsWith("self-contained", StringComparison.Ordinal);
        if (!selfContained)
        {
            Assert.Contains("./usr/lib/assp/assp.dll", contents);
            Assert.Contains("dotnet-runtime-10.0", info);
        }

        // The files as they would land, without installing: the shipped unit is packaging/assp.service; the
        // maintainer scripts are valid sh; the binary runs.
        var unpacked = Path.Combine(_dir, "unpacked");
        Assert.Equal(0, (await Repo.RunAsync("dpkg-deb", ["-x", deb, unpacked], Quick)).Exit);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "packaging", "assp.service")),
            await File.ReadAllTextAsync(Path.Combine(unpacked, "lib", "systemd", "system", "assp.service")));
        var control = Path.Combine(_dir, "control");
        Assert.Equal(0, (await Repo.RunAsync("dpkg-deb", ["-e", deb, control], Quick)).Exit);
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
        {
            var (syntax, problems) = await Repo.RunAsync("sh", ["-n", Path.Combine(control, script)], Quick);
            Assert.True(syntax == 0, script + ": " + problems);
        }
        if (selfContained)
        {
            var (versionExit, version) = await Repo.RunAsync(Path.Combine(unpacked, "usr", "bin", "assp"), ["--version"], Quick);
            Assert.True(versionExit == 0, version);
        }

        // Installed for real (dpkg -i), only where that disturbs nothing: no assp package, user or base folder yet,
        // and no running systemd (so postinst starts nothing). The package is purged again in every case.
        using var machine = await SystemLock.AcquireAsync(TimeSpan.FromMinutes(3));
        bool installable = machine is not null && selfContained && !SystemdRuns && !UserExists("assp") && !GroupExists("assp") && !Directory.Exists("/var/lib/assp")
            && !File.Exists(ServiceUnitPath) && (await Repo.RunAsync("dpkg", ["-s", "assp"], Quick)).Exit != 0;
        if (!installable)
        {
            _output.WriteLine("The .deb was built and checked but not installed here: another test run changes the system, assp is " +
                "already installed, systemd runs, or the build is framework-dependent.");
            return;
        }
        AsspService? running = null;
        try
        {
            (exit, output) = await Repo.RunAsync("dpkg", ["-i", deb], TimeSpan.FromMinutes(3));
            Assert.True(exit == 0, output);
            // postinst: the system user, the base folder from `assp init`, runAsUser/runAsGroup, the owner, the unit enabled.
            Assert.Contains("Prepared base folder /var/lib/assp", output);
            var passwd = File.ReadLines("/etc/passwd").Single(l => l.StartsWith("assp:", StringComparison.Ordinal)).Split(':');
            Assert.Equal("/var/lib/assp", passwd[5]);
            Assert.Equal("/usr/sbin/nologin", passwd[6]);
            var cfg = AsspConfigFile.Load("/var/lib/assp/assp.cfg");
            Assert.Equal("assp", cfg.Get("runAsUser"));
            Assert.Equal("assp", cfg.Get("runAsGroup"));
            var (_, owner) = await Repo.RunAsync("stat", ["-c", "%U:%G %a", "/var/lib/assp"], Quick);
            Assert.Equal("assp:assp 750", owner.Trim());
            Assert.True(File.Exists("/etc/systemd/system/multi-user.target.wants/assp.service"), "deb-systemd-helper enable did not link the unit");
            var (checkExit, check) = await Repo.RunAsync("/usr/bin/assp", ["check-config", "--base", "/var/lib/assp"], Quick);
            Assert.True(checkExit == 0, check);

            // The installed binary as the unit runs it (as root), on a privileged port: it becomes assp.
            var port = Ports.FreePrivileged().First();
            running = AsspService.Start("/var/lib/assp", extra: ["--set", $"listenPort=127.0.0.1:{port}"], binary: "/usr/bin/assp");
            await running.WaitForLogAsync("running as user assp group assp from now on", Quick);
            await running.WaitForLogAsync("ready;", Quick);
            var uid = uint.Parse(passwd[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.All(running.ThreadIdentities(), t => Assert.All(t.Uids, u => Assert.Equal(uid, u)));

            // prerm stops it (no systemd: `assp stop`), and the stop is clean.
            (exit, output) = await Repo.RunAsync("dpkg", ["-r", "assp"], TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, output);
            Assert.True(await running.WaitForExitAsync(Quick), "prerm did not stop the running proxy\n" + running.Output);
            Assert.Equal(0, running.ExitCode);
            Assert.EndsWith("ASSP for .NET stopped", running.ReadMaillog().TrimEnd());
            // remove keeps the user and the data.
            Assert.True(UserExists("assp"));
            Assert.True(File.Exists("/var/lib/assp/assp.cfg"));
            Assert.False(File.Exists("/usr/bin/assp"));

            (exit, output) = await Repo.RunAsync("dpkg", ["--purge", "assp"], TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, output);
            Assert.False(UserExists("assp"));
            Assert.False(GroupExists("assp"));
            Assert.False(Directory.Exists("/var/lib/assp"));
            Assert.False(File.Exists("/etc/systemd/system/multi-user.target.wants/assp.service"));
            Assert.False(File.Exists(ServiceUnitPath));
        }
        finally
        {
            running?.Dispose();
            if ((await Repo.RunAsync("dpkg", ["-s", "assp"], Quick)).Exit == 0 || Directory.Exists("/var/lib/assp") || UserExists("assp"))
            {
                await Repo.RunAsync("dpkg", ["--purge", "assp"], TimeSpan.FromMinutes(2));
            }
        }
    }
}
