namespace CoapEnroll.Enrollment;

/// <summary>Why <see cref="EnrollmentService.AuthenticateAsync(PeerIdentity, CancellationToken)"/> did not authenticate a peer.</summary>
public enum AuthenticationFailure
{
    /// <summary>Authenticated.</summary>
    None,

    /// <summary>No secure channel at all (plain UDP or TCP): the front end answers "unauthenticated" (4.01, 401).</summary>
    NoSecureChannel,

    /// <summary>A secure channel without a client certificate (e.g. PSK, or a certificate-less handshake): "unauthenticated".</summary>
    NoCertificate,

    /// <summary>A certificate this CA issued that is no longer active (revoked or superseded): "forbidden" (4.03, 403).</summary>
    InactiveCertificateOfThisCa,

    /// <summary>A certificate that chains neither to this CA nor to a trusted manufacturer CA: "forbidden".</summary>
    UntrustedCertificate,

    /// <summary>
    /// A certificate that chains, but is no device identity: a CA certificate, or one whose keyUsage lacks digitalSignature or whose
    /// extendedKeyUsage lacks clientAuth (RFC 5280 §4.2.1.3, §4.2.1.9, §4.2.1.12): "forbidden".
    /// </summary>
    UnsuitableCertificate,
}
