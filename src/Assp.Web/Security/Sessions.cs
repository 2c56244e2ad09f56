using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;

namespace Assp.Web.Security;

/// <summary>
/// One browser session. Before login it only carries the anti-forgery token of the login form; a successful login
/// replaces it by a new session with a new id (no session fixation).
/// </summary>
public sealed class WebSession(string id, string csrfToken, string? user, AdminRole role, bool mustChangePassword, DateTimeOffset now)
{
    public string Id { get; } = id;
    public string CsrfToken { get; } = csrfToken;
    public string? User { get; } = user;
    public AdminRole Role { get; } = role;
    public bool MustChangePassword { get; set; } = mustChangePassword;
    public DateTimeOffset Created { get; } = now;
    public DateTimeOffset LastSeen { get; set; } = now;
    public bool IsAuthenticated => User is not null;
}

/// <summary>The live sessions, in memory (a restart logs everyone out). Idle sessions expire.</summary>
public sealed class SessionStore(TimeProvider clock)
{
    public const string CookieName = "assp_session";
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(12);

    private readonly ConcurrentDictionary<string, WebSession> _sessions = new(StringComparer.Ordinal);

    public WebSession? Get(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_sessions.TryGetValue(id, out var s)) return null;
        var now = clock.GetUtcNow();
        if (now - s.LastSeen > IdleTimeout || now - s.Created > MaxAge)
        {
            _sessions.TryRemove(id, out _);
            return null;
        }
        s.LastSeen = now;
        return s;
    }

    public WebSession CreateAnonymous() => Add(null, AdminRole.Viewer, false);

    /// <summary>Starts the session of a logged-in user; the previous session (if any) ends.</summary>
    public WebSession Login(string? previousId, AdminUser user)
    {
        if (previousId is not null) _sessions.TryRemove(previousId, out _);
        Prune();
        return Add(user.Name, user.Role, user.MustChangePassword);
    }

    public void End(string? id)
    {
        if (id is not null) _sessions.TryRemove(id, out _);
    }

    /// <summary>Ends every session of a user except one (after a password change, or when the user is deleted).</summary>
    public void EndAllOf(string user, string? except = null)
    {
        foreach (var (id, s) in _sessions)
            if (s.User == user && id != except) _sessions.TryRemove(id, out _);
    }

    public int Count => _sessions.Count;

    /// <summary>Above this many sessions, expired ones are swept on every new session (pre-login sessions cost nothing to ask for).</summary>
    public const int SweepAbove = 1000;

    /// <summary>
    /// Pre-login sessions kept at most: anyone who reaches the port can ask for them, so a flood of requests for
    /// the login page must not fill the memory. Above it the oldest pre-login sessions go (logged-in ones never).
    /// </summary>
    public const int MaxAnonymous = 10_000;

    private WebSession Add(string? user, AdminRole role, bool mustChange)
    {
        // At most one sweep a second: under a flood every request would otherwise walk the whole table.
        if (_sessions.Count > SweepAbove && clock.GetUtcNow() - _lastSweep >= TimeSpan.FromSeconds(1)) Prune();
        if (user is null && _sessions.Count >= MaxAnonymous) DropOldestAnonymous();
        var s = new WebSession(NewToken(), NewToken(), user, role, mustChange, clock.GetUtcNow());
        _sessions[s.Id] = s;
        return s;
    }

    private void DropOldestAnonymous()
    {
        var anonymous = _sessions.Values.Where(s => !s.IsAuthenticated).OrderBy(s => s.LastSeen).ToList();
        // A tenth at a time, so a flood does not sort the table on every request.
        int excess = anonymous.Count - MaxAnonymous + MaxAnonymous / 10;
        foreach (var s in anonymous.Take(Math.Max(0, excess))) _sessions.TryRemove(s.Id, out _);
    }

    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    private void Prune()
    {
        var now = clock.GetUtcNow();
        _lastSweep = now;
        foreach (var (id, s) in _sessions)
            if (now - s.LastSeen > IdleTimeout || now - s.Created > MaxAge) _sessions.TryRemove(id, out _);
    }

    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// Slows password guessing per client address: after <see cref="MaxFailures"/> failed logins within
/// <see cref="Window"/> the address may not try again until the window has passed.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock)
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<IPAddress, List<DateTimeOffset>> _failures = new();

    public bool IsBlocked(IPAddress client)
    {
        if (!_failures.TryGetValue(client, out var list)) return false;
        lock (list)
        {
            var since = clock.GetUtcNow() - Window;
            list.RemoveAll(t => t < since);
            return list.Count >= MaxFailures;
        }
    }

    public void Failed(IPAddress client)
    {
        // Addresses whose failures are all older than the window are forgotten, so the table cannot grow without end.
        if (_failures.Count > 10_000)
        {
            var since = clock.GetUtcNow() - Window;
            foreach (var (ip, old) in _failures)
                lock (old)
                    if (old.TrueForAll(t => t < since)) _failures.TryRemove(ip, out _);
        }
        var list = _failures.GetOrAdd(client, _ => []);
        lock (list) list.Add(clock.GetUtcNow());
    }

    public void Succeeded(IPAddress client) => _failures.TryRemove(client, out _);
}
