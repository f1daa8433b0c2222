namespace CoapEnroll.Enrollment;

/// <summary>Settings of the <see cref="EnrollmentService"/>: the policy every front end applies the same way.</summary>
public sealed class EnrollmentOptions
{
    /// <summary>
    /// Refuse a request that does not link its proof of possession to the channel (RFC 7030 §3.5 "The EST server MAY reject
    /// requests without tls-unique information"). A claim that is present is always checked. Over a channel whose binding is not
    /// unique (no extended master secret, RFC 7627 §6.1) a request with a claim is refused, and with this option every request is.
    /// </summary>
    public bool RequireProofOfPossessionLinking { get; set; }

    /// <summary>
    /// Accept certificates chaining to a trusted manufacturer CA after they expired (RFC 9148 §3 and §9.1: IDevIDs live as long as
    /// the device). Off by default. Certificates from this CA must be current.
    /// </summary>
    public bool AcceptExpiredManufacturerCertificates { get; set; }

    /// <summary>How long a requester whose request waits for approval is told to wait before repeating it. At least one second.</summary>
    public TimeSpan PendingRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Secret (at least 32 bytes) from which server-generated keys are derived per request key, so that a repeated request (also
    /// after a pending answer and across restarts) gets the key of the certificate already issued for it. Null: a random secret per
    /// service instance. Whoever holds it can re-derive every server-generated key: protect it like the CA key.
    /// </summary>
    public byte[]? KeyGenerationSecret { get; set; }

    /// <summary>
    /// Trust an active certificate of this CA that carries extendedKeyUsage id-kp-cmcRA as a registrar (RFC 7030 §3.7). On by
    /// default (<c>Ca:TrustRegistrarsOfThisCa</c>); off, such a certificate is an ordinary device certificate whose names are bound
    /// to it. Certificates of <see cref="Ca.CaHierarchy.TrustedRegistrarCas"/> are registrars either way.
    /// </summary>
    public bool TrustRegistrarsOfThisCa { get; set; } = true;
}
