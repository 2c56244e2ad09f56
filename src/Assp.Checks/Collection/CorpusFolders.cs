using Assp.Config;
using Assp.Checks.Decision;

namespace Assp.Checks.Collection;

/// <summary>
/// The corpus and collection folders named by ASSP's folder options (spamlog, notspamlog, incomingOkMail, viruslog,
/// discarded, correctedspam, correctednotspam), each relative to the base folder unless absolute.
/// </summary>
public static class CorpusFolders
{
    /// <summary>The folders the collection writes to and the maintenance job cleans.</summary>
    public static readonly string[] Options = ["spamlog", "notspamlog", "incomingOkMail", "viruslog", "discarded", "correctedspam", "correctednotspam"];

    /// <summary>The full path of a folder option, or null when the option is empty (the folder is not used).</summary>
    public static string? Resolve(ConfigSnapshot cfg, string option)
    {
        var value = cfg[option].Trim().Replace('\\', '/');
        if (value.Length == 0) return null;
        return Path.GetFullPath(Path.IsPathRooted(value) ? value : Path.Combine(cfg.BaseDirectory, value));
    }

    /// <summary>
    /// Where a collection code stores its mail (null: nowhere). A folder that is not set, or SpamLog/NonSpamLog
    /// switched off, stores nothing, as ASSP's Maillog does.
    /// </summary>
    public static string? FolderOptionFor(ConfigSnapshot cfg, CollectTarget target) => target switch
    {
        CollectTarget.Spam or CollectTarget.SpamAndCopy when cfg.GetChoice("SpamLog") != 0 => Set(cfg, "spamlog"),
        CollectTarget.NotSpam when cfg.GetChoice("NonSpamLog") != 0 => Set(cfg, "notspamlog"),
        CollectTarget.OkMail => Set(cfg, "incomingOkMail"),
        CollectTarget.Quarantine => Set(cfg, "viruslog"),
        CollectTarget.Discard or CollectTarget.DiscardAndCopy => Set(cfg, "discarded"),
        _ => null,
    };

    private static string? Set(ConfigSnapshot cfg, string option) => cfg[option].Trim().Length > 0 ? option : null;
}
