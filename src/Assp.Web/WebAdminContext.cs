using Assp.Checks;
using Assp.Config;
using Assp.Storage;
using Assp.Web.Security;

namespace Assp.Web;

/// <summary>What the web admin works on, handed over by the running proxy process.</summary>
public sealed class WebAdminContext
{
    public required ConfigManager Config { get; init; }
    /// <summary>The instance's databases (the same store the proxy uses).</summary>
    public required IStore Store { get; init; }
    /// <summary>A pipeline over the instance's data that reads the databases but never changes them (for the analyzer).</summary>
    public required Func<ConfigSnapshot, ICheckPipeline> AnalysisPipeline { get; init; }
    /// <summary>Writes one maillog line.</summary>
    public required Action<string> Log { get; init; }
    /// <summary>Asks the process for a planned restart (the same path as requestRestart).</summary>
    public Action<string>? RequestRestart { get; init; }
    public Action<string>? RequestShutdown { get; init; }
    /// <summary>The running proxy's sessions, statistics and health probes; null: the live pages say there is no proxy.</summary>
    public LiveServices? Live { get; init; }
    /// <summary>How the maillog's "resend" sends a stored message (relayHost, else smtpDestination).</summary>
    public MailSender SendMail { get; init; } = (cfg, from, to, message, ct) => Assp.Smtp.ReportMailer.SendAsync(cfg, from, to, message, ct);
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>PBKDF2 rounds for new password hashes (tests lower it; stored hashes keep their own count).</summary>
    public int PasswordIterations { get; init; } = AdminUsers.DefaultIterations;

    internal AdminUsers Users => _users ??= new AdminUsers(Store, PasswordIterations);
    internal SessionStore Sessions => _sessions ??= new SessionStore(Clock);
    internal LoginThrottle Throttle => _throttle ??= new LoginThrottle(Clock);

    private AdminUsers? _users;
    private SessionStore? _sessions;
    private LoginThrottle? _throttle;
}
