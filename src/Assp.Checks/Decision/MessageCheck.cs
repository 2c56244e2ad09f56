using System.Net;
using System.Reflection;
using Assp.Checks.Dns;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Decision;

/// <summary>
/// One check as a small class (DESIGN.md): its definition (the ASSP options for mode, score, test mode, lovers,
/// …), the SMTP phase and its place in ASSP's order, and one method that reads the message and reports through
/// the engine (<see cref="DecisionEngine.Hit"/> for a finding, <see cref="DecisionEngine.AddPenalty"/> for a plain
/// score). The pipeline runs every check of a phase in order and stops at the first refusal. Checks are found by
/// <see cref="CheckCatalog"/>: any public class in this assembly that implements this interface.
/// </summary>
public interface IMessageCheck
{
    CheckDefinition Definition { get; }
    SmtpPhase Phase { get; }
    /// <summary>The place within the phase (ASSP's order; lower runs first).</summary>
    int Order { get; }
    /// <summary>Runs the check; return <see cref="Verdict.Pass"/> when it has nothing to say or only scored.</summary>
    ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken);
}

/// <summary>What a check gets: the session, the message state, the configuration and the shared services.</summary>
public sealed class CheckContext(IMailContext mail, DecisionEngine engine, CheckServices services)
{
    public IMailContext Mail { get; } = mail;
    public MessageState State => Mail.CheckState.Message;
    public ConfigSnapshot Config => Mail.Config;
    public DecisionEngine Engine { get; } = engine;
    public CheckServices Services { get; } = services;
    /// <summary>The IP scores go to: the client, or the sender found behind an ISP relay.</summary>
    public IPAddress Ip => State.ScoredIp ?? Mail.RemoteAddress;
    public void Log(string line) => Mail.Log(line);
    /// <summary>Does the check run for this message (mode, local mail, the …WL/…NP switches, transparent mail)?</summary>
    public bool Applies(CheckDefinition check) => DecisionEngine.Applies(check, Config, State);
}

/// <summary>Sends a mail ASSP writes itself (a virus report) through the relay; returns null on success, else why it failed.</summary>
public delegate Task<string?> ReportSender(ConfigSnapshot config, string from, IReadOnlyList<string> to, byte[] message, CancellationToken cancellationToken);

/// <summary>The shared things checks may use; each may be null where an instance has none (the analyzer has no DNS,
/// and sends no mail).</summary>
public sealed record CheckServices(IStore? Store = null, DnsListChecks? Dns = null, TimeProvider? Clock = null, ReportSender? Mailer = null)
{
    public static readonly CheckServices None = new();
    public TimeProvider Time => Clock ?? Store?.Clock ?? TimeProvider.System;
}

/// <summary>Finds the checks of this assembly: every public non-abstract <see cref="IMessageCheck"/>, built with its
/// (CheckServices) constructor or its parameterless one.</summary>
public static class CheckCatalog
{
    public static IReadOnlyList<IMessageCheck> Discover(CheckServices services, Assembly? assembly = null)
    {
        var found = new List<IMessageCheck>();
        foreach (var type in (assembly ?? typeof(CheckCatalog).Assembly).GetExportedTypes())
        {
            if (type.IsAbstract || type.IsInterface || !typeof(IMessageCheck).IsAssignableFrom(type)) continue;
            if (type.GetConstructor([typeof(CheckServices)]) is { } withServices) found.Add((IMessageCheck)withServices.Invoke([services]));
            else if (type.GetConstructor(Type.EmptyTypes) is { } plain) found.Add((IMessageCheck)plain.Invoke(null));
        }
        return [.. found.OrderBy(c => c.Phase).ThenBy(c => c.Order).ThenBy(c => c.Definition.Name, StringComparer.Ordinal)];
    }
}
