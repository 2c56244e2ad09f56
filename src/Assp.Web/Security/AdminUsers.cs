using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Assp.Storage;

namespace Assp.Web.Security;

/// <summary>
/// What an admin user may do. ASSP gives root everything and other admin users rights per area; here the
/// areas are grouped into three roles, each including the one below it.
/// </summary>
public enum AdminRole
{
    /// <summary>Reads every page; changes nothing.</summary>
    Viewer = 0,
    /// <summary>Also edits the lists and the PenaltyBox and runs the analyzer.</summary>
    Operator = 1,
    /// <summary>Also changes options and list files, manages admin users, reloads, restarts and shuts down.</summary>
    Admin = 2,
}

/// <summary>One stored admin user. The password is kept only as a salted PBKDF2-SHA256 hash.</summary>
public sealed record AdminUser(string Name, AdminRole Role, bool MustChangePassword, int FailedLogins, long LockedUntil,
    int Iterations, string Salt, string Hash)
{
    internal string Format() => string.Join(';', "v1", Iterations.ToString(CultureInfo.InvariantCulture), Salt, Hash,
        Role.ToString().ToLowerInvariant(), MustChangePassword ? "1" : "0", FailedLogins.ToString(CultureInfo.InvariantCulture),
        LockedUntil.ToString(CultureInfo.InvariantCulture));

    internal static AdminUser? Parse(string name, string value)
    {
        var p = value.Split(';');
        if (p.Length != 8 || p[0] != "v1") return null;
        if (!int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1) return null;
        if (!Enum.TryParse<AdminRole>(p[4], ignoreCase: true, out var role)) return null;
        int.TryParse(p[6], NumberStyles.None, CultureInfo.InvariantCulture, out var failed);
        long.TryParse(p[7], NumberStyles.None, CultureInfo.InvariantCulture, out var locked);
        return new AdminUser(name, role, p[5] == "1", failed, locked, iterations, p[2], p[3]);
    }
}

public enum LoginOutcome { Success, BadCredentials, LockedOut }

/// <summary>
/// The admin users of the web interface, kept in the store's "adminusers" table (the database ASSP calls
/// adminusersdb). Passwords are hashed with PBKDF2-SHA256; after <see cref="MaxFailedLogins"/> wrong passwords in a
/// row the account is locked for <see cref="LockoutTime"/>.
/// </summary>
public sealed class AdminUsers
{
    public const string TableName = "adminusers";
    public const int DefaultIterations = 600_000;
    public const int MaxFailedLogins = 5;
    public const int MinPasswordLength = 10;
    public static readonly TimeSpan LockoutTime = TimeSpan.FromMinutes(15);

    private readonly IStoreTable _table;
    private readonly TimeProvider _clock;
    private readonly int _iterations;
    private readonly Lock _lock = new();

    public AdminUsers(IStore store, int iterations = DefaultIterations)
    {
        _table = store.Table(TableName);
        _clock = store.Clock;
        _iterations = iterations;
    }

    public IReadOnlyList<AdminUser> All() =>
        _table.Scan().Select(kv => AdminUser.Parse(kv.Key, kv.Value.Value)).OfType<AdminUser>().OrderBy(u => u.Name, StringComparer.Ordinal).ToList();

    public AdminUser? Find(string name) =>
        _table.TryGetValue(Normalize(name), out var v) ? AdminUser.Parse(Normalize(name), v) : null;

    /// <summary>
    /// On the very first start (no admin user stored) creates "admin" with a random password that must be changed
    /// at the first login. Returns that password, or null when users exist already.
    /// </summary>
    public string? EnsureInitialAdmin()
    {
        lock (_lock)
        {
            if (_table.Count > 0) return null;
            var password = RandomPassword();
            _table.Set("admin", NewUser("admin", password, AdminRole.Admin, mustChange: true).Format());
            return password;
        }
    }

    public static string RandomPassword()
    {
        const string alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, 20);
    }

    /// <summary>Checks name and password; counts failures and locks the account after too many.</summary>
    public (LoginOutcome Outcome, AdminUser? User) Verify(string name, string password)
    {
        lock (_lock)
        {
            var user = Find(name);
            long now = _clock.GetUtcNow().ToUnixTimeSeconds();
            if (user is null)
            {
                // Spend the same work as for a real user, so timing does not tell which names exist.
                Hash(password, Convert.ToBase64String(new byte[16]), _iterations);
                return (LoginOutcome.BadCredentials, null);
            }
            if (user.LockedUntil > now) return (LoginOutcome.LockedOut, null);
            var computed = Hash(password, user.Salt, user.Iterations);
            if (!CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(computed), Convert.FromBase64String(user.Hash)))
            {
                int failed = user.FailedLogins + 1;
                bool lockNow = failed >= MaxFailedLogins;
                var updated = user with
                {
                    FailedLogins = lockNow ? 0 : failed,
                    LockedUntil = lockNow ? now + (long)LockoutTime.TotalSeconds : user.LockedUntil,
                };
                _table.Set(user.Name, updated.Format());
                return (lockNow ? LoginOutcome.LockedOut : LoginOutcome.BadCredentials, null);
            }
            if (user.FailedLogins != 0 || user.LockedUntil != 0)
            {
                user = user with { FailedLogins = 0, LockedUntil = 0 };
                _table.Set(user.Name, user.Format());
            }
            return (LoginOutcome.Success, user);
        }
    }

    /// <summary>Why a new password is not acceptable, or null.</summary>
    public static string? PasswordProblem(string name, string password)
    {
        if (password.Length < MinPasswordLength) return $"the password needs at least {MinPasswordLength} characters";
        if (string.Equals(password, name, StringComparison.OrdinalIgnoreCase)) return "the password must differ from the user name";
        // ASSP's shipped default root password must never become a real one.
        if (password == "nospam4me") return "this is ASSP's well-known default password";
        return null;
    }

    public string? SetPassword(string name, string password, bool mustChange = false)
    {
        if (PasswordProblem(name, password) is { } problem) return problem;
        lock (_lock)
        {
            var user = Find(name);
            if (user is null) return $"no admin user '{name}'";
            var fresh = NewUser(user.Name, password, user.Role, mustChange);
            _table.Set(user.Name, fresh.Format());
            return null;
        }
    }

    public string? Create(string name, string password, AdminRole role)
    {
        name = Normalize(name);
        if (!IsValidName(name)) return "a user name has 1 to 32 letters, digits, '.', '_' or '-'";
        if (PasswordProblem(name, password) is { } problem) return problem;
        lock (_lock)
        {
            if (_table.ContainsKey(name)) return $"admin user '{name}' exists already";
            // A user created by another admin chooses an own password at the first login.
            _table.Set(name, NewUser(name, password, role, mustChange: true).Format());
            return null;
        }
    }

    public string? Delete(string name, string currentUser)
    {
        name = Normalize(name);
        lock (_lock)
        {
            var user = Find(name);
            if (user is null) return $"no admin user '{name}'";
            if (name == Normalize(currentUser)) return "you cannot delete your own account";
            if (user.Role == AdminRole.Admin && All().Count(u => u.Role == AdminRole.Admin) <= 1) return "the last admin cannot be deleted";
            _table.Remove(name);
            return null;
        }
    }

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 32 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();

    private AdminUser NewUser(string name, string password, AdminRole role, bool mustChange)
    {
        var salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        return new AdminUser(name, role, mustChange, 0, 0, _iterations, salt, Hash(password, salt, _iterations));
    }

    private static string Hash(string password, string salt, int iterations) =>
        Convert.ToBase64String(Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(salt), iterations,
            HashAlgorithmName.SHA256, 32));
}
