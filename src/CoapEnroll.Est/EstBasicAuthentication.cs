namespace CoapEnroll.Est;

/// <summary>
/// Whether EST over HTTPS takes HTTP Basic authentication (RFC 7030 §3.2.3, RFC 7617) for a profile; configuration
/// <c>Est:BasicAuthentication:&lt;profile&gt;</c>. A Basic-authenticated requester is the configured user, entitled as its
/// <see cref="EstBasicUserOptions"/> say (the enrollment core's shared-secret requester, as a CMP MAC reference is).
/// </summary>
public enum EstBasicAuthentication
{
    /// <summary>Not taken (the default): a TLS client certificate authenticates; an Authorization header is ignored.</summary>
    Off,

    /// <summary>
    /// A trusted TLS client certificate authenticates; without one the server asks for Basic credentials (401 with
    /// <c>WWW-Authenticate: Basic</c>), and valid ones authenticate. Credentials that are sent are always checked.
    /// </summary>
    Accepted,

    /// <summary>Basic credentials are needed for every enrollment of the profile; a TLS client certificate does not replace them.</summary>
    Required,
}
