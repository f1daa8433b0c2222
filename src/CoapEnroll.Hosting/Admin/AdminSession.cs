namespace CoapEnroll.Hosting;

/// <summary>One password login (<see cref="AdminSessions"/>): who, the CSRF token its forms carry, until when, and its key in the table.</summary>
internal sealed record AdminSession(string User, string CsrfToken, DateTimeOffset ExpiresAt, string Key);
