using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Assp.Config.Files;
using Assp.Config.Registry;
using Spectre.Console;

namespace Assp.Server;

/// <summary>
/// `assp install-service` (the systemd unit, the system user, the base folder) and `assp init` (the base folder alone,
/// as the Debian package's postinst uses it). The unit text here is the one packaging/assp.service ships.
/// </summary>
public static partial class ServiceInstaller
{
    public const string DefaultBase = "/var/lib/assp";
    public const string DefaultBinary = "/usr/bin/assp";
    public const string DefaultUser = "assp";
    public const string UnitPath = "/etc/systemd/system/assp.service";
    public const string UnitName = "assp.service";

    /// <summary>
    /// The values a brand-new assp.cfg gets where ASSP's default does not suit a first start (used by `run`, `init`
    /// and `install-service` alike): live reload of assp.cfg is on, and certificates live in the base folder.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> FreshInstallValues = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AutoReloadCfg"] = "1",
        ["SSLCertFile"] = "certs/server-cert.pem",
        ["SSLKeyFile"] = "certs/server-key.pem",
    };

    /// <summary>The systemd unit for an `assp` binary (a full command, possibly "dotnet /path/assp.dll") and a base folder.</summary>
    public static string RenderUnit(string command, string baseDir) => $"""
        # ASSP for .NET, the Anti-Spam SMTP Proxy, as a systemd service.
        # Written by `assp install-service` (or shipped by the Debian package). Local changes belong in a drop-in:
        # systemctl edit assp
        [Unit]
        Description=ASSP for .NET anti-spam SMTP proxy
        Documentation=file:/usr/share/doc/assp/install.md
        Wants=network-online.target
        After=network-online.target

        [Service]
        # Starts as root to bind port 25, then becomes runAsUser/runAsGroup from assp.cfg for good.
        # READY=1 is sent once the listeners are bound and root is given up.
        Type=notify
        NotifyAccess=main
        ExecStart={command} run --base {QuoteArgument(baseDir)}
        ExecReload=/bin/kill -HUP $MAINPID
        KillSignal=SIGTERM
        KillMode=mixed
        # A graceful stop lets running transfers finish for up to 30 s.
        TimeoutStopSec=45
        Restart=on-failure
        RestartSec=5
        WorkingDirectory=-{EscapeSpecifiers(baseDir)}
        # The maillog lines go to stdout (unless `silent`), so journalctl -u assp shows them.
        StandardOutput=journal
        StandardError=journal
        SyslogIdentifier=assp
        LimitNOFILE=65536
        UMask=0027
        NoNewPrivileges=yes
        PrivateTmp=yes
        ProtectSystem=full
        ReadWritePaths={QuoteListItem("-" + EscapeSpecifiers(baseDir))}

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>The ExecStart command for a binary: the file itself, or "dotnet file" for a framework-dependent assp.dll.</summary>
    public static string CommandFor(string binary)
    {
        var full = Path.GetFullPath(binary);
        if (!full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return QuoteArgument(full);
        var dotnet = FindDotnet() ?? "/usr/bin/dotnet";
        return QuoteArgument(dotnet) + " " + QuoteArgument(full);
    }

    /// <summary>What this process was started as: the apphost or single-file `assp`, or `dotnet …/assp.dll`.</summary>
    public static string CurrentBinary()
    {
        var process = Environment.ProcessPath ?? DefaultBinary;
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.Ordinal))
            return Path.Combine(AppContext.BaseDirectory, "assp.dll");
        return process;
    }

    // ---- the verbs ----

    internal static Command CreateInstallCommand(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var binaryOption = new Option<string?>("--binary") { Description = "the assp executable the service runs (default: this one)" };
        var userOption = new Option<string>("--user")
        {
            Description = "system user (and group) the proxy runs as after binding its ports",
            DefaultValueFactory = _ => DefaultUser,
        };
        var dryRunOption = new Option<bool>("--dry-run") { Description = "print the unit and the steps, change nothing" };
        var command = new Command("install-service",
            $"Install ASSP as a systemd service: the unit in {UnitPath}, the system user, and the base folder (default {DefaultBase}).");
        command.Options.Add(binaryOption);
        command.Options.Add(userOption);
        command.Options.Add(dryRunOption);
        command.SetAction(parse =>
        {
            // --base is a global option whose default is the current folder; a service gets /var/lib/assp unless told.
            var baseResult = parse.GetResult(baseOption);
            var baseDir = baseResult is null || baseResult.Implicit ? DefaultBase : parse.GetValue(baseOption)!.FullName;
            return Install(console, baseDir, parse.GetValue(binaryOption) ?? CurrentBinary(), parse.GetValue(userOption)!.Trim(),
                parse.GetValue(dryRunOption));
        });
        return command;
    }

    internal static Command CreateInitCommand(Option<DirectoryInfo> baseOption, IAnsiConsole console)
    {
        var userOption = new Option<string?>("--user")
        {
            Description = "also set runAsUser/runAsGroup to this user and its primary group, and hand the folder to them",
        };
        var command = new Command("init", "Create the base folder with a default assp.cfg, files/, logs/ (what `run` does on a first start), then exit.");
        command.Options.Add(userOption);
        command.SetAction(parse => Init(console, parse.GetValue(baseOption)!.FullName, parse.GetValue(userOption)?.Trim()));
        return command;
    }

    private static int Init(IAnsiConsole console, string baseDir, string? user)
    {
        Identity? identity = null;
        if (!string.IsNullOrEmpty(user))
        {
            identity = FindIdentity(user);
            if (identity is null)
            {
                console.MarkupLine($"[red]error:[/] no user '{Markup.Escape(user)}' on this system; create it first " +
                    $"(useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {Markup.Escape(user)}) or use `assp install-service`");
                return 1;
            }
        }
        try
        {
            var created = PrepareBase(baseDir, identity);
            console.MarkupLine(created.Created > 0
                ? $"Prepared base folder {Markup.Escape(baseDir)} ({created.Created} files and folders created)."
                : $"Base folder {Markup.Escape(baseDir)} is complete; nothing created.");
            if (identity is { } id)
            {
                console.MarkupLine(created.RunAsChanged
                    ? $"assp.cfg: runAsUser:={Markup.Escape(id.User)}, runAsGroup:={Markup.Escape(id.Group)}."
                    : $"assp.cfg already has runAsUser:={Markup.Escape(id.User)}, runAsGroup:={Markup.Escape(id.Group)}.");
                console.MarkupLine(created.Chowned
                    ? $"The folder belongs to {Markup.Escape(id.User)}:{Markup.Escape(id.Group)} now."
                    : "[yellow]warning:[/] not root, so the folder's owner is unchanged.");
            }
            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(ex.Message)}");
            return 1;
        }
    }

    private static int Install(IAnsiConsole console, string baseDir, string binary, string user, bool dryRun)
    {
        if (user.Length == 0 || user.Contains(':') || user.Contains('/') || user.Any(char.IsWhiteSpace))
        {
            console.MarkupLine($"[red]error:[/] --user '{Markup.Escape(user)}' is not a user name");
            return 2;
        }
        baseDir = Path.GetFullPath(baseDir);
        var binaryPath = Path.GetFullPath(binary);
        var unit = RenderUnit(CommandFor(binaryPath), baseDir);
        var existing = FindIdentity(user);
        var groupExists = Unix.LookupGroup(user) is not null;
        var shell = File.Exists("/usr/sbin/nologin") ? "/usr/sbin/nologin" : "/bin/false";
        var useradd = new List<string> { "--system" };
        useradd.AddRange(groupExists ? ["--gid", user] : ["--user-group"]);
        useradd.AddRange(["--no-create-home", "--home-dir", baseDir, "--shell", shell, user]);
        var systemd = SystemdState();

        if (dryRun)
        {
            console.MarkupLine("[bold]Dry run:[/] nothing is changed.");
            console.Write(new Rule($"{Markup.Escape(UnitPath)}").LeftJustified());
            console.Write(new Text(unit));
            console.Write(new Rule().LeftJustified());
        }
        else if (!Unix.IsRoot)
        {
            console.MarkupLine("[red]error:[/] install-service changes the system (a user, /etc/systemd/system): run it as root, or add --dry-run to see what it does");
            return 1;
        }
        if (!File.Exists(binaryPath))
            console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(binaryPath)} does not exist; the service will not start until it does (--binary PATH)");

        var table = new Table().Border(TableBorder.Rounded).AddColumn("#").AddColumn("Step").AddColumn(dryRun ? "Would" : "Result");
        int step = 0;
        bool failed = false;
        void Row(string what, string result) => table.AddRow((++step).ToString(CultureInfo.InvariantCulture), what, result);

        // 1. the user
        if (existing is { } found)
        {
            Row($"system user {Markup.Escape(user)}", $"[grey]exists[/] (uid {found.Uid}, group {Markup.Escape(found.Group)})");
        }
        else
        {
            var what = $"create system user [bold]{Markup.Escape(user)}[/]: useradd {Markup.Escape(string.Join(' ', useradd))}";
            if (dryRun) Row(what, "create");
            else
            {
                var (exit, output) = RunTool(File.Exists("/usr/sbin/useradd") ? "/usr/sbin/useradd" : "useradd", useradd);
                failed |= exit != 0;
                Row(what, exit == 0 ? "[green]created[/]" : $"[red]failed[/] ({exit}): {Markup.Escape(output.Trim())}");
                existing = FindIdentity(user);
            }
        }

        // 2-4. the base folder, runAsUser/runAsGroup, ownership
        var cfgPath = Path.Combine(baseDir, "assp.cfg");
        var runAs = existing is { } who ? $"{who.User}/{who.Group}" : $"{user}/{user}";
        if (dryRun)
        {
            Row($"base folder {Markup.Escape(baseDir)}", File.Exists(cfgPath) ? "keep its assp.cfg" : "create it with a default assp.cfg, files/, logs/");
            Row($"set runAsUser/runAsGroup in {Markup.Escape(cfgPath)} to {Markup.Escape(runAs)}", "set (only those two lines)");
            Row($"hand {Markup.Escape(baseDir)} to {Markup.Escape(runAs.Replace('/', ':'))}", "chown -R");
        }
        else if (existing is { } id)
        {
            try
            {
                var result = PrepareBase(baseDir, id);
                Row($"base folder {Markup.Escape(baseDir)}", result.Created > 0 ? $"[green]created[/] ({result.Created} files and folders)" : "[grey]exists[/], assp.cfg kept");
                Row($"runAsUser:={Markup.Escape(id.User)}, runAsGroup:={Markup.Escape(id.Group)} in assp.cfg", result.RunAsChanged ? "[green]set[/]" : "[grey]already set[/]");
                Row($"hand {Markup.Escape(baseDir)} to {Markup.Escape(id.User)}:{Markup.Escape(id.Group)}", "[green]done[/]");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failed = true;
                Row($"base folder {Markup.Escape(baseDir)}", $"[red]failed[/]: {Markup.Escape(ex.Message)}");
            }
        }
        else
        {
            failed = true;
            Row($"base folder {Markup.Escape(baseDir)}", "[red]skipped[/]: there is no user to run as");
        }

        // 5. the unit
        if (dryRun) Row($"write {Markup.Escape(UnitPath)} (shown above)", File.Exists(UnitPath) ? "replace" : "create");
        else
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(UnitPath)!);
                var temp = UnitPath + ".tmp";
                File.WriteAllText(temp, unit);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                File.Move(temp, UnitPath, overwrite: true);
                Row($"write {Markup.Escape(UnitPath)}", "[green]written[/]");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failed = true;
                Row($"write {Markup.Escape(UnitPath)}", $"[red]failed[/]: {Markup.Escape(ex.Message)}");
            }
        }

        // 6. systemd
        foreach (var args in new[] { new[] { "daemon-reload" }, new[] { "enable", UnitName } })
        {
            var what = "systemctl " + string.Join(' ', args);
            if (!systemd.Usable) Row(Markup.Escape(what), $"[yellow]not run[/]: {Markup.Escape(systemd.Reason)}");
            else if (dryRun) Row(Markup.Escape(what), "run");
            else if (failed) Row(Markup.Escape(what), "[yellow]not run[/]: an earlier step failed");
            else
            {
                var (exit, output) = RunTool(systemd.Systemctl!, args);
                failed |= exit != 0;
                Row(Markup.Escape(what), exit == 0 ? "[green]done[/]" : $"[red]failed[/] ({exit}): {Markup.Escape(output.Trim())}");
            }
        }
        console.Write(table);

        if (failed)
        {
            console.MarkupLine("[red]The installation is incomplete;[/] fix the failed step and run install-service again (it repeats only what is missing).");
            return 1;
        }
        var startHint = systemd.Usable
            ? "Start it with [bold]systemctl start assp[/], follow it with [bold]journalctl -u assp -f[/], check it with [bold]systemctl status assp[/]."
            : $"When systemd runs, enable and start it with [bold]systemctl daemon-reload && systemctl enable --now assp[/]; until then start it by hand: " +
              $"[bold]{Markup.Escape(CommandFor(binaryPath))} run --base {Markup.Escape(baseDir)}[/] (as root).";
        console.MarkupLine($"Set [bold]localDomains[/] and [bold]smtpDestination[/] in {Markup.Escape(cfgPath)} first. " + startHint);
        return 0;
    }

    // ---- shared steps ----

    internal readonly record struct Identity(string User, uint Uid, string Group, uint Gid);

    internal readonly record struct PrepareResult(int Created, bool RunAsChanged, bool Chowned);

    /// <summary>A user by name or uid (from /etc/passwd), with the name of its primary group.</summary>
    internal static Identity? FindIdentity(string user)
    {
        if (!File.Exists("/etc/passwd")) return null;
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length < 4 || (f[0] != user && f[2] != user)) continue;
            if (!uint.TryParse(f[2], CultureInfo.InvariantCulture, out var uid) || !uint.TryParse(f[3], CultureInfo.InvariantCulture, out var gid)) continue;
            return new Identity(f[0], uid, GroupName(gid) ?? f[3], gid);
        }
        return null;
    }

    private static string? GroupName(uint gid)
    {
        var id = gid.ToString(CultureInfo.InvariantCulture);
        foreach (var line in File.ReadLines("/etc/group"))
        {
            var f = line.Split(':');
            if (f.Length >= 3 && f[2] == id) return f[0];
        }
        return null;
    }

    /// <summary>
    /// Creates the base folder as `assp run` would on a first start; with an identity, sets runAsUser/runAsGroup (only
    /// those lines of assp.cfg change) and, as root, gives the folder to that user and group.
    /// </summary>
    internal static PrepareResult PrepareBase(string baseDir, Identity? identity)
    {
        var initial = new Dictionary<string, string>(FreshInstallValues, StringComparer.Ordinal);
        if (identity is { } who)
        {
            // A new assp.cfg gets them at once (no assp.cfg.bak); an existing one is changed below.
            initial["runAsUser"] = who.User;
            initial["runAsGroup"] = who.Group;
        }
        var created = BaseFolder.Initialize(baseDir, OptionRegistry.Default, initial);
        var cfgPath = Path.Combine(Path.GetFullPath(baseDir), "assp.cfg");
        bool changed = identity is not null && created.Contains(cfgPath), chowned = false;
        if (identity is { } id)
        {
            var file = AsspConfigFile.Load(cfgPath);
            if (file.Get("runAsUser") != id.User || file.Get("runAsGroup") != id.Group)
            {
                // Only these two lines change; the rest of the admin's assp.cfg stays byte for byte.
                file.Set("runAsUser", id.User);
                file.Set("runAsGroup", id.Group);
                file.Save(cfgPath);
                changed = true;
            }
            if (Unix.IsRoot)
            {
                ChownTree(Path.GetFullPath(baseDir), id.Uid, id.Gid);
                chowned = true;
            }
        }
        return new PrepareResult(created.Count, changed, chowned);
    }

    private static void ChownTree(string root, uint uid, uint gid) => Unix.ChownTree(root, uid, gid);

    private readonly record struct Systemd(bool Usable, string? Systemctl, string Reason);

    /// <summary>systemctl can be used when it exists and systemd is the running init (sd_booted: /run/systemd/system exists).</summary>
    private static Systemd SystemdState()
    {
        var systemctl = new[] { "/usr/bin/systemctl", "/bin/systemctl" }.FirstOrDefault(File.Exists);
        if (systemctl is null) return new(false, null, "systemctl is not installed");
        if (!Directory.Exists("/run/systemd/system"))
        {
            string init = "unknown";
            try { init = File.ReadAllText("/proc/1/comm").Trim(); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            return new(false, systemctl, $"systemd is not PID 1 here (PID 1 is '{init}')");
        }
        return new(true, systemctl, "");
    }

    private static (int Exit, string Output) RunTool(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{file} did not finish within 120 s");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{file}: {ex.Message}");
        }
    }

    private static string? FindDotnet()
    {
        if (Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet") return p;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dotnet");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>One ExecStart argument: '%' and '$' doubled (systemd specifiers and variables), quoted when it holds blanks or quotes.</summary>
    internal static string QuoteArgument(string value)
    {
        var escaped = EscapeSpecifiers(value).Replace("$", "$$");
        if (escaped.Length > 0 && !escaped.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or ';')) return escaped;
        return "\"" + escaped.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }

    /// <summary>One item of a space-separated path list (ReadWritePaths=): quoted when it holds blanks.</summary>
    private static string QuoteListItem(string value) =>
        value.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\') ? "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" : value;

    private static string EscapeSpecifiers(string value) => value.Replace("%", "%%");
}
