namespace CoapEnroll.Hosting;

/// <summary>
/// An authenticated operator for one request: the actor the audit log records (<c>operator:web:NAME</c>), the CSRF token its
/// forms must carry, and the session to end on logout (null for a client certificate, which has no session).
/// </summary>
internal sealed record AdminPrincipal(string Name, string Actor, string CsrfToken, AdminSession? Session);
