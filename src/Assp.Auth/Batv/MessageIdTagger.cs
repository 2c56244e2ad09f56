using System.Globalization;
using System.Text.RegularExpressions;

namespace Assp.Auth.Batv;

/// <summary>A Message-ID tag found in a message: the tag text as written ("sig.3123abcdef.") and whether it is ours and fresh.</summary>
public readonly record struct MessageIdTag(string TagText, string OriginalId, bool Valid);

/// <summary>
/// FBMTV Message-ID tags as ASSP makes them: &lt;local@host&gt; becomes &lt;PRE.GDDDHHHHHH.local@host&gt; with PRE the
/// MSGIDpreTag, G the secret's generation, DDD the day seven days ahead modulo 1000 and HHHHHH six hex digits of
/// SHA-1 over generation, day, the original id and the secret. A tag is valid for seven days.
/// </summary>
public sealed class MessageIdTagger
{
    private readonly BatvTagger _hash;
    private readonly Regex _find;
    private readonly TimeProvider _clock;

    public MessageIdTagger(string preTag, IReadOnlyList<TagSecret> secrets, TimeProvider? clock = null)
    {
        PreTag = preTag;
        _clock = clock ?? TimeProvider.System;
        _hash = new BatvTagger(secrets, _clock);
        _find = new Regex("<(" + Regex.Escape(preTag) + @"\.(\d)(\d{3})(\w{6})\.)([^\r\n<>]+)>", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    public string PreTag { get; }

    /// <summary>The id (without angle brackets) with a tag in front, or null without secrets.</summary>
    public string? Tag(string id)
    {
        if (_hash.Secrets.Count == 0 || id.Length == 0) return null;
        var s = _hash.Secrets[Random.Shared.Next(_hash.Secrets.Count)];
        var day = _hash.TagDay;
        return $"{PreTag}.{s.Generation}{day}{BatvTagger.Hash(s.Generation, day, id, s.Key)}.{id}";
    }

    /// <summary>Every tagged id in the text, each checked against the secrets and its age.</summary>
    public IEnumerable<MessageIdTag> Find(string text)
    {
        long today = _clock.GetUtcNow().ToUnixTimeSeconds() / 86400 % 1000;
        foreach (Match m in _find.Matches(text))
        {
            int gen = m.Groups[2].Value[0] - '0';
            var day = m.Groups[3].Value;
            var id = m.Groups[5].Value;
            var secret = _hash.Secrets.FirstOrDefault(s => s.Generation == gen);
            bool valid = secret.Key is not null
                && BatvTagger.Hash(gen, day, id, secret.Key).Equals(m.Groups[4].Value, StringComparison.Ordinal)
                && (int.Parse(day, CultureInfo.InvariantCulture) - today + 1000) % 1000 <= 7;
            yield return new MessageIdTag(m.Groups[1].Value, id, valid);
        }
    }
}
