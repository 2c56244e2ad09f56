using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Mime;
using Assp.Mime.Attachments;

namespace Assp.Checks.Checks;

/// <summary>
/// DoBlockExes (0 disabled, 1 block, 2 monitor, 3 score): attachments are judged by their name's last extension
/// against the level chosen for the mail (BlockExes for external mail, BlockWLExes for whitelisted and local mail,
/// BlockNPExes for noprocessing mail) or against the UserAttach rules of the sender and first recipient, which
/// replace the levels. With exe-bin in a rule the content decides too (an executable renamed .txt is caught), the files
/// in a winmail.dat (TNEF) are judged like attachments (a hit stands for the whole winmail.dat), and
/// archives are looked into: their members are judged by the block rule and by content. A hit scores baValencePB
/// (message only for a user rule) and is refused with AttachmentError (FILENAME = the file's name).
/// </summary>
public sealed class AttachmentCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoBlockExes", "[Attachment]", "baValencePB", TestModeOption: "attachTestMode",
        LoverList: "atSpamLovers", CollectOption: "extAttachLog", ReplyOption: "AttachmentError", RunsOnOutgoing: true);

    /// <summary>Archive members are listed within these limits (a bomb is not unpacked further).</summary>
    private static readonly ArchiveListOptions ListOptions = new() { MaxDepth = 3, MaxEntries = 1000, MaxTotalUncompressedBytes = 32L * 1024 * 1024 };

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 100;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        if (!CheckHelpers.Enabled(c, Check) || st.Parsed is not { } msg) return Verdict.Pass;
        var rules = AttachmentRules.For(cfg);
        rules.LogProblemsOnce(c.Log);

        var (level, levelOption, collect) = st.IsNoProcessing ? (cfg.GetChoice("BlockNPExes"), "BlockNPExes", "npAttachLog")
            : st.IsWhitelisted || st.RelayOk ? (cfg.GetChoice("BlockWLExes"), "BlockWLExes", "wlAttachLog")
            : (cfg.GetChoice("BlockExes"), "BlockExes", "extAttachLog");
        int logLevel = cfg.GetChoice("AttachmentLog");

        var problems = new List<string>();
        var firstRecipient = c.Mail.Recipients.Count > 0 ? c.Mail.Recipients[0] : null;
        bool outgoing = st.RelayOk || c.Mail.IsOutgoing;
        var decision = rules.ForUsers(c.Mail.MailFrom, firstRecipient, outgoing, state => Validated(c, state), problems);
        var afc = AfcOptions.For(cfg, c.Log);
        // ASSP_AFC: the zip: lines of UserAttach judge the files inside archives (and OpenSSL-encrypted files).
        var zip = afc.On ? rules.ForArchiveMembers(c.Mail.MailFrom, firstRecipient, outgoing, state => Validated(c, state), problems) : null;
        foreach (var p in problems) c.Log("warning: " + p);
        if (zip is not null && logLevel >= 1)
            c.Log(zip.Skipped is { } zipSkipped ? $"info: UserAttach zip: check skipped for the validated sender ({zipSkipped})" : "info: using user based compressed attachment check (UserAttach zip:)");
        bool userBased = decision is not null;
        AttachmentRule? rule;
        if (decision is not null)
        {
            if (logLevel >= 1) c.Log("info: using user based attachment check");
            if (decision.Skipped is { } skipped && logLevel >= 1) c.Log($"info: UserAttach check skipped for the validated sender ({skipped})");
            rule = decision.Rule;
        }
        else rule = rules.Level(level);
        // With no rule for the files themselves, archives are still judged by a zip: rule or ASSP_AFCblockEncryptedZIP.
        bool filesChecked = rule is not null;
        if (rule is null)
        {
            if (zip?.Rule is null && !afc.BlockEncrypted) return Verdict.Pass;
            rule = AttachmentRule.Nothing;
        }

        // BlockUuencoded: a uuencoded file in a text body refuses the mail with its own reply, whatever its name.
        if (filesChecked && cfg.GetBool("BlockUuencoded") && msg.UuencodedAttachments.FirstOrDefault() is { } uu)
        {
            var uuName = AttachmentName.Sanitize(uu.FileName).Name;
            if (logLevel >= 1) c.Log($"info: uuencoded attachment '{uuName}' found - BlockUuencoded");
            var (um, ui) = cfg.GetValence("baValencePB");
            return c.Engine.Hit(Check with { CollectOption = collect }, cfg, st, c.Ip, $"uuencoded attachment '{uuName}'", c.Log,
                (um, userBased ? 0 : ui), reply: cfg["UuencodedError"]);
        }

        var files = Files(msg, afc, c, logLevel).ToList();
        if (logLevel >= 1 && files.Count > 0)
            c.Log($"info: {files.Count} attachment{(files.Count > 1 ? "s" : "")} found for {(userBased ? "UserAttach" : $"Level-{level} ({levelOption})")}");
        // ASSP_AFCReplBadAttach: with blocking on, bad attachments are cut out and the mail is delivered.
        bool replace = cfg.GetChoice("DoBlockExes") == 1 && cfg.GetChoice("DoASSP_AFC") == 1 && cfg.GetChoice("ASSP_AFCSelect") is 1 or 3
            && cfg.GetBool("ASSP_AFCReplBadAttach") && !cfg.GetBool("attachTestMode");
        var removals = new List<(MimeEntity Part, string Name, string Why)>();
        foreach (var (name, content, part) in files)
        {
            var type = FileTypeDetector.Detect(content.Span);
            if (logLevel >= 2) c.Log($"info: attachment '{name}' found ({type})");
            if (afc.KnownGood.Count > 0 && KnownGoodAttachments.Hash(content.Span) is var hash && afc.KnownGood.IsKnownGood(hash, 0))
            {
                if (logLevel >= 1) c.Log($"info: attachment '{name}' SHA256 {hash} is listed in ASSP_AFCKnownGoodEXE - passes the attachment check");
                continue;
            }
            var why = rule.Refuses(name, type);
            var shown = name;
            if (why is null && zip?.Rule is { } encryptRule && type.Kind == "encrypted" && encryptRule.Blocks(".encrypt"))
                why = "encrypted file (UserAttach zip: encrypt)";
            if (why is null && type.IsArchive) (why, shown) = InArchive(rule, zip, name, content, c, logLevel, afc);
            if (why is null) continue;
            if (replace && part is not null && AttachmentReplacer.CanReplace(msg, part))
            {
                if (removals.Any(r => r.Part == part)) continue;   // a second bad file of the same attached mail
                removals.Add((part, shown, why));
                continue;
            }
            return Refuse(c, shown, why, userBased, collect);
        }
        if (removals.Count > 0)
        {
            var text = cfg["ASSP_AFCReplBadAttachText"];
            st.ReplacementMessage = AttachmentReplacer.Replace(msg, removals.Select(r =>
                (r.Part, text.Replace("FILENAME", r.Name, StringComparison.Ordinal).Replace("REASON", r.Why, StringComparison.Ordinal))).ToList());
            foreach (var r in removals) c.Log($"[Attachment] bad attachment '{r.Name}' - {r.Why} - replaced by a text (ASSP_AFCReplBadAttach)");
        }
        return Verdict.Pass;
    }

    /// <summary>The NoCheckIf= states: spf (SPF passed), dkim (a valid DKIM signature), sig (a valid S/MIME or PGP
    /// signature - which this implementation cannot verify, so it never holds: an unproven signature must not lift a rule).</summary>
    private static bool Validated(CheckContext c, string state) => state switch
    {
        "spf" => c.State.SpfPassed,
        "dkim" => c.State.DkimResults?.Any(d => d.Passed) == true,
        _ => false,
    };

    private static Verdict Refuse(CheckContext c, string name, string why, bool userBased, string collect)
    {
        var cfg = c.Config;
        var reason = $"bad attachment '{name}'";
        if (cfg.GetChoice("AttachmentLog") >= 1) c.Log($"info: {reason} - {why}");
        var reply = cfg["AttachmentError"].Replace("FILENAME", MimeWord(name), StringComparison.Ordinal);
        var (m, i) = cfg.GetValence("baValencePB");
        // A user rule's hit scores the message only: the IP is not to blame for one recipient's policy.
        var definition = Check with { CollectOption = collect };
        return c.Engine.Hit(definition, cfg, c.State, c.Ip, reason, c.Log, (m, userBased ? 0 : i), reply: reply);
    }

    /// <summary>
    /// The members of an archive attachment judged by the block rule and by content (not by the level-4 allowlist).
    /// With ASSP_AFC on: ASSP_AFCMaxZIPLevel sets how deep archives in archives are opened, ASSP_AFCblockEncryptedZIP
    /// refuses encrypted members, and a member whose hash ASSP_AFCKnownGoodEXE lists for its level passes.
    /// A UserAttach zip: rule for the mail (<paramref name="zip"/>) takes the place of the attachment's rule for the
    /// members: its block and good lists both judge every member's name (at every depth), its exe-bin and :TAG
    /// entries their content, crypt-zip in block refuses (in good allows) encrypted members whatever
    /// ASSP_AFCblockEncryptedZIP says, and encrypt in block refuses OpenSSL-encrypted members.
    /// </summary>
    private static (string? Why, string Name) InArchive(AttachmentRule rule, UserAttachDecision? zip, string name, ReadOnlyMemory<byte> content,
        CheckContext c, int logLevel, AfcOptions afc)
    {
        ArchiveListing listing;
        try
        {
            using var stream = new MemoryStream(content.ToArray(), writable: false);
            listing = ArchiveLister.List(stream, name, afc.ListOptions);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            c.Log($"warning: archive '{name}' could not be listed - {ex.Message}");
            return (null, name);
        }
        if (listing.IsBomb && logLevel >= 1) c.Log($"info: archive '{name}' looks like a decompression bomb - {string.Join("; ", listing.Notes.Take(3))}");
        if (listing.IsTooDeep && logLevel >= 1) c.Log($"info: archive '{name}' nests deeper than {afc.ListOptions.MaxDepth + 1} levels - the deeper ones are not opened");
        var memberRule = zip is null ? rule : zip.Rule;
        bool blockEncrypted = afc.BlockEncrypted;
        if (zip?.Rule is { } zr)
        {
            // As ASSP_AFC: a zip: block listing crypt-zip switches the refusal on, a good listing it switches it off.
            if (!blockEncrypted && zr.Blocks(".crypt-zip")) blockEncrypted = true;
            if (blockEncrypted && zr.Allows(".crypt-zip")) blockEncrypted = false;
        }
        foreach (var (entry, level) in Members(listing))
        {
            if (entry.IsDirectory) continue;
            if (logLevel >= 2) c.Log($"info: archive '{name}' holds '{entry.Path}'{(entry.Sha256 is { } h ? " SHA256 " + h : "")}");
            var path = entry.Path.StartsWith(name + "/", StringComparison.Ordinal) ? entry.Path : $"{name}/{entry.Path}";
            if (entry.Sha256 is { } sha && afc.KnownGood.IsKnownGood(sha, level))
            {
                if (logLevel >= 1) c.Log($"info: '{path}' SHA256 {sha} is listed in ASSP_AFCKnownGoodEXE - passes");
                continue;
            }
            if (blockEncrypted && entry.IsEncrypted)
                return (zip?.Rule?.Blocks(".crypt-zip") == true ? "encrypted compressed attachment (UserAttach zip: crypt-zip)"
                    : "encrypted compressed attachment (ASSP_AFCblockEncryptedZIP)", path);
            if (memberRule?.Refuses(entry.Name, entry.DetectedType, checkGood: zip is not null) is { } why)
                return (why + (zip is null ? " in archive" : " in archive (UserAttach zip:)"), path);
            if (zip?.Rule is { } encryptRule && entry.DetectedType?.Kind == "encrypted" && encryptRule.Blocks(".encrypt"))
                return ("encrypted file in archive (UserAttach zip: encrypt)", path);
        }
        return (null, name);
    }

    /// <summary>Every member with its compression level (1 for the outer archive's own members).</summary>
    private static IEnumerable<(ArchiveEntry Entry, int Level)> Members(ArchiveListing listing)
    {
        foreach (var entry in listing.Entries)
        {
            yield return (entry, listing.Depth + 1);
            if (entry.Nested is { } nested)
                foreach (var inner in Members(nested)) yield return inner;
        }
    }

    /// <summary>The ASSP_AFC attachment options in force for a configuration (defaults when the plugin is off).</summary>
    /// <param name="On">DoASSP_AFC is enabled with ASSP_AFCSelect doing attachments (1 or 3).</param>
    /// <param name="ExtractAttMail">ASSP_AFCextractAttMail: bit 1 opens attached .eml mails, bit 2 Outlook .msg files.</param>
    private sealed record AfcOptions(bool On, ArchiveListOptions ListOptions, bool BlockEncrypted, KnownGoodAttachments KnownGood, int ExtractAttMail)
    {
        public static AfcOptions For(ConfigSnapshot cfg, Action<string>? log)
        {
            var options = cfg.Derived("Checks.AfcAttachmentOptions", Build);
            if (log is not null && options.KnownGood.Problems.Count > 0 && !cfg.Derived("Checks.KnownGoodLogged", _ => new LoggedOnce()).Take())
                foreach (var p in options.KnownGood.Problems) log("warning: " + p);
            return options;
        }

        private static AfcOptions Build(ConfigSnapshot cfg)
        {
            if (cfg.GetChoice("DoASSP_AFC") != 1 || cfg.GetChoice("ASSP_AFCSelect") is not (1 or 3))
                return new AfcOptions(false, AttachmentCheck.ListOptions, false, KnownGoodAttachments.Empty, 0);
            int zipLevel = cfg.GetInt("ASSP_AFCMaxZIPLevel", 10);
            if (zipLevel <= 0) zipLevel = 10;
            var known = KnownGoodAttachments.For(cfg);
            return new AfcOptions(true, AttachmentCheck.ListOptions with { MaxDepth = zipLevel - 1, HashEntries = known.Count > 0 },
                cfg.GetBool("ASSP_AFCblockEncryptedZIP"), known, cfg.GetChoice("ASSP_AFCextractAttMail"));
        }
    }

    private sealed class LoggedOnce
    {
        private int _done;
        public bool Take() => Interlocked.Exchange(ref _done, 1) == 1;
    }

    /// <summary>
    /// Every attached file with its decoded content and the part that is cut out when it is bad: MIME attachments
    /// (named or not) and uuencoded blocks. With ASSP_AFC doing attachments, ASSP_AFCextractAttMail decides about
    /// attached mails: with .eml (1 or 3) their files are judged too - also an .eml file sent as a plain attachment -
    /// and a bad one stands for the whole attached mail; without it an attached mail's own files are not looked at.
    /// With .msg (2 or 3) the files of an attached Outlook message (and of messages attached to it) are judged the same way.
    /// </summary>
    private static IEnumerable<(string Name, ReadOnlyMemory<byte> Content, MimeEntity? Part)> Files(MimeMessage msg, AfcOptions afc, CheckContext c, int logLevel)
    {
        bool extractEml = afc.On && (afc.ExtractAttMail & 1) != 0;
        bool extractMsg = afc.On && (afc.ExtractAttMail & 2) != 0;
        foreach (var part in msg.Attachments)
        {
            var outer = OuterPart(msg, part);
            if (afc.On && outer != part && !extractEml) continue;
            // ASSP judges named parts; an unnamed part still counts for content detection.
            var name = AttachmentName.Sanitize(part.ContentDisposition?.FileName ?? part.ContentType.Name).Name;
            var content = part.GetContentBytes();
            var cutOut = afc.On ? outer : part;
            yield return (name, content, cutOut);
            // As ASSP_AFC: the files inside a winmail.dat (by name or by type) are judged like attachments of their own;
            // a hit replaces or refuses the whole TNEF part.
            if (IsTnef(part, name) && TnefReader.IsTnef(content.Span))
                foreach (var inner in TnefReader.List(content.Span, TnefLimits).AllAttachments())
                    if (inner.HasData || inner.FileName.Length > 0)
                        yield return (AttachmentName.Sanitize(inner.FileName).Name, inner.OpenDataMemory(), cutOut);
            if (extractMsg && name.EndsWith(".msg", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var file in OutlookFiles(name, content, c, logLevel))
                    yield return (AttachmentName.Sanitize(file.FileName).Name, file.Data, cutOut);
                continue;
            }
            if (!extractEml || !name.EndsWith(".eml", StringComparison.OrdinalIgnoreCase)) continue;
            // An attached mail that came as a file (not as message/rfc822): its parts are read here.
            if (logLevel >= 2) c.Log($"info: attachment {name} will be split into its MIME parts");
            var attached = MimeParser.Parse(content);
            foreach (var inner in attached.Attachments)
                yield return (AttachmentName.Sanitize(inner.ContentDisposition?.FileName ?? inner.ContentType.Name).Name, inner.GetContentBytes(), outer);
            foreach (var uu in attached.UuencodedAttachments)
                yield return (AttachmentName.Sanitize(uu.FileName).Name, uu.Content, outer);
        }
        foreach (var uu in msg.UuencodedAttachments)
            yield return (AttachmentName.Sanitize(uu.FileName).Name, uu.Content, null);
    }

    /// <summary>The files of an attached Outlook .msg (also those of messages attached to it); a damaged one is
    /// logged and its files are not judged (the .msg itself still is, by name and content).</summary>
    private static IReadOnlyList<OutlookAttachment> OutlookFiles(string name, ReadOnlyMemory<byte> content, CheckContext c, int logLevel)
    {
        if (!OutlookMessage.IsOutlookMessage(content.Span)) return [];
        try
        {
            var message = OutlookMessage.Read(content, OutlookLimits);
            if (logLevel >= 2) c.Log($"info: Outlook attachment {name} was converted to MIME for analysing");
            return message.AllFiles().ToList();
        }
        catch (InvalidDataException ex)
        {
            if (logLevel >= 1) c.Log($"warning: can't get the message from Outlook attachment {name} - {ex.Message}");
            return [];
        }
    }

    /// <summary>An attached .msg is read within these limits (the message size limits apply before).</summary>
    private static readonly CompoundFileLimits OutlookLimits = new() { MaxEntries = 10_000, MaxStreamBytes = 32 * 1024 * 1024, MaxDepth = 16 };

    /// <summary>The part of the message itself that holds <paramref name="part"/>: the part, or for a part of an
    /// attached mail the attached mail's part (ASSP_AFC replaces the whole attached mail).</summary>
    internal static MimeEntity OuterPart(MimeMessage msg, MimeEntity part)
    {
        var e = part;
        while (e.Owner != msg && e.Owner.Container is { } container) e = container;
        return e;
    }

    /// <summary>TNEF is read within these limits (the message size limits apply before).</summary>
    private static readonly TnefReadOptions TnefLimits = new() { MaxAttachments = 1000, MaxDepth = 3 };

    private static bool IsTnef(MimeEntity part, string name) =>
        name.Equals("winmail.dat", StringComparison.OrdinalIgnoreCase) || part.MimeType is "application/ms-tnef" or "application/vnd.ms-tnef";

    /// <summary>A name with other than 7-bit characters goes into the reply as an RFC 2047 word, as ASSP does.</summary>
    private static string MimeWord(string name) =>
        name.All(ch => ch is >= ' ' and < (char)127) ? name : "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(name)) + "?=";
}
