using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Hosting;

/// <summary>
/// The password login sessions: a random 256-bit id in a cookie, kept here by its SHA-256 (so that a lookup's timing says
/// nothing about stored ids), with the operator's name, a per-session CSRF token and an absolute expiry. At most
/// <c>max</c> live sessions; expired ones are dropped when a new one is made.
/// </summary>
internal sealed class AdminSessions
{
    private readonly int _max;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, AdminSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public AdminSessions(int max, TimeSpan lifetime, TimeProvider time)
    {
        _max = max;
        _lifetime = lifetime;
        _time = time;
    }

    public TimeSpan Lifetime => _lifetime;

    /// <summary>A new session for <paramref name="user"/> and its cookie value, or null when <c>max</c> sessions are live.</summary>
    public (AdminSession Session, string Cookie)? Create(string user)
    {
        string cookie = NewToken();
        DateTimeOffset now = _time.GetUtcNow();
        var session = new AdminSession(user, NewToken(), now + _lifetime, KeyOf(cookie));
        lock (_lock)
        {
            if (_sessions.Count >= _max)
            {
                foreach (string expired in _sessions.Where(s => s.Value.ExpiresAt <= now).Select(s => s.Key).ToList())
                {
                    _sessions.Remove(expired);
                }

                if (_sessions.Count >= _max)
                {
                    return null;
                }
            }

            _sessions[session.Key] = session;
        }

        return (session, cookie);
    }

    /// <summary>The live session whose cookie is <paramref name="cookie"/>, or null.</summary>
    public AdminSession? Find(string? cookie)
    {
        if (string.IsNullOrEmpty(cookie) || cookie.Length > 128)
        {
            return null;
        }

        string key = KeyOf(cookie);
        lock (_lock)
        {
            if (!_sessions.TryGetValue(key, out AdminSession? session))
            {
                return null;
            }

            if (session.ExpiresAt > _time.GetUtcNow())
            {
                return session;
            }

            _sessions.Remove(key);
            return null;
        }
    }

    public void Remove(AdminSession session)
    {
        lock (_lock)
        {
            _sessions.Remove(session.Key);
        }
    }

    /// <summary>32 random bytes, base64url.</summary>
    internal static string NewToken() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string KeyOf(string cookie) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(cookie)));
}
