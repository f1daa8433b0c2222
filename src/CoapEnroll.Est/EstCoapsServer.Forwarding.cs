using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Enrollment;
using CoapEnroll.Est.Upstream;
using CoapEnroll.Pkix;

namespace CoapEnroll.Est;

/// <summary>
/// The registrar (RFC 9148 §5): the same resources, discovery and device authentication as the server, but an operation that
/// passes this node's checks (<see cref="EnrollmentService.CheckForwarding"/>) goes to the EST server over HTTPS
/// (<see cref="EstHttpsClient"/>, authenticated there with this node's registrar certificate) and its answer comes back translated:
/// DER ↔ base64, Content-Format ↔ media type, HTTP status → CoAP code (RFC 9148 §4.5, RFC 8075 §7), 202 + Retry-After → 5.03 +
/// Max-Age. The CoAP layer has reassembled every Block1 body before this runs. Refusals here are only logged: the upstream CA
/// keeps the records of what it is asked.
/// </summary>
public sealed partial class EstCoapsServer
{
    private const int MaxDiagnosticLength = 200;

    private async Task<CoapMessage> ForwardAsync(CoapRequestContext context, string operation, Requester client, CertificateProfile profile,
        CancellationToken cancellationToken)
    {
        CoapMessage request = context.Request;
        string? label = context.RouteValues.TryGetValue("label", out string? l) ? l : null;
        if (operation == Att)
        {
            if (request.Accept is { } accept && accept != CoapContentFormat.CsrAttrs)
            {
                return Refuse(Att, client.Name, CoapCode.NotAcceptable, $"/att answers 285, not {accept}");
            }

            return await SendAsync(context, Att, client.Name, EstHttpsOperation.CsrAttrs, label, default, cancellationToken);
        }

        bool keyGen = operation is Skg or Skc;
        if (request.ContentFormat != CoapContentFormat.Pkcs10)
        {
            return Refuse(operation, client.Name, CoapCode.UnsupportedContentFormat,
                $"the request must be a PKCS#10 CSR, Content-Format 286 (got {request.ContentFormat?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
        }

        bool acceptable = keyGen
            ? request.Accept is null or CoapContentFormat.MultipartCore
            : request.Accept is null or CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.PkixCert;
        if (!acceptable)
        {
            return Refuse(operation, client.Name, CoapCode.NotAcceptable, keyGen ? $"/{operation} answers 62, not {request.Accept}" : $"/{operation} answers 281 or 287, not {request.Accept}");
        }

        if (request.Payload.Length > IssuanceRequest.MaxCsrLength)
        {
            return Refuse(operation, client.Name, CoapCode.RequestEntityTooLarge, $"CSR longer than {IssuanceRequest.MaxCsrLength} bytes");
        }

        EstCsr? csr = EstCsr.TryParse(request.Payload, out string? problem);
        if (csr is null)
        {
            return Refuse(operation, client.Name, CoapCode.BadRequest, problem!);
        }

        // This node authenticated the device; it also answers for the names and the proof-of-possession link (RFC 7030 §3.7): the
        // upstream CA, seeing this registrar's id-kp-cmcRA certificate, trusts both.
        var enrollment = new EnrollmentRequest
        {
            Requester = client,
            Operation = operation switch { Sen => EnrollmentOperation.Enroll, Sren => EnrollmentOperation.Reenroll, _ => EnrollmentOperation.ServerKeyGeneration },
            OperationName = operation,
            ProfileName = profile.Name,
            Request = csr.Request,
            ChannelBindingClaim = csr.ChallengePassword,
        };
        if (_enrollment.CheckForwarding(enrollment, profile) is { } refusal)
        {
            return Refuse(operation, client.Name, CodeFor(EstEnrollmentFlow.FailureFor(refusal.Reason)), refusal.Detail);
        }

        EstHttpsOperation upstream = operation switch { Sen => EstHttpsOperation.SimpleEnroll, Sren => EstHttpsOperation.SimpleReenroll, _ => EstHttpsOperation.ServerKeyGen };
        return await SendAsync(context, operation, client.Name, upstream, label, request.Payload, cancellationToken);
    }

    /// <summary>/crts through the registrar: asked by <paramref name="requester"/>, who may be an anonymous DTLS peer (RFC 7030 §4.1.1).</summary>
    private async Task<CoapMessage> ForwardCrtsAsync(CoapRequestContext context, string requester, CancellationToken cancellationToken)
    {
        CoapMessage request = context.Request;
        if (request.Accept is not (null or CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.PkixCert))
        {
            return Refuse(Crts, requester, CoapCode.NotAcceptable, $"/crts answers 281 or 287, not {request.Accept}");
        }

        string? label = context.RouteValues.TryGetValue("label", out string? l) ? l : null;
        return await SendAsync(context, Crts, requester, EstHttpsOperation.CaCerts, label, default, cancellationToken);
    }

    // One upstream exchange, within the bounds on requests in flight upstream per device (4.29) and in total (5.03).
    private async Task<CoapMessage> SendAsync(CoapRequestContext context, string operation, string requester, EstHttpsOperation upstream, string? label,
        ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using PeerConcurrencyLease lease = _upstreamLimiter!.TryAcquire(context.RemoteEndPoint);
        if (!lease.Acquired)
        {
            uint wait = MaxAgeOf(Options.UpstreamRetryAfter);
            return lease.Status == PeerConcurrencyStatus.PeerLimit
                ? Refuse(operation, requester, CoapCode.TooManyRequests, $"at most {_upstreamLimiter.MaxPerPeer} requests of one device are forwarded at once")
                    .SetUInt(CoapOptionNumber.MaxAge, wait)
                : Refuse(operation, requester, CoapCode.ServiceUnavailable, "the registrar is busy").SetUInt(CoapOptionNumber.MaxAge, wait);
        }

        return Translate(operation, requester, context.Request.Accept, await _upstream!.SendAsync(upstream, label, body, cancellationToken));
    }

    // The upstream answer as the device's answer. A status without an EST-coaps equivalent is the gateway's failure (5.02).
    private CoapMessage Translate(string operation, string requester, int? accept, EstHttpsResponse response)
    {
        string upstream = _upstream!.Root.AbsoluteUri;
        CoapMessage answer;
        switch (response.Failure)
        {
            case EstHttpsFailure.Timeout:
                answer = Diagnostic(CoapCode.GatewayTimeout, "the EST server upstream did not answer in time; repeat the request");
                EstLog.UpstreamFailed(_logger, operation, requester, upstream, "timed out", response.Text, Name(answer.Code));
                return answer;
            case EstHttpsFailure.Unreachable:
                uint wait = MaxAgeOf(Options.UpstreamRetryAfter);
                answer = new CoapMessage { Code = CoapCode.ServiceUnavailable }.SetUInt(CoapOptionNumber.MaxAge, wait)
                    .WithPayload($"the EST server upstream is unreachable; retry after {wait} s");
                EstLog.UpstreamFailed(_logger, operation, requester, upstream, "unreachable", response.Text, Name(answer.Code));
                return answer;
            case EstHttpsFailure.InvalidResponse or EstHttpsFailure.TooLarge:
                answer = Diagnostic(CoapCode.BadGateway, "the EST server upstream gave an answer this registrar cannot use");
                EstLog.UpstreamFailed(_logger, operation, requester, upstream, response.Failure == EstHttpsFailure.TooLarge ? "answered too much" : "answered badly",
                    response.Text, Name(answer.Code));
                return answer;
        }

        answer = response.StatusCode switch
        {
            200 => Success(operation, accept, response.Parts),
            202 => Pending(response.RetryAfter ?? Options.PendingRetryAfter, $"the EST server upstream holds the request; retry after {{0}} s"),
            503 => Pending(response.RetryAfter ?? Options.UpstreamRetryAfter, "the EST server upstream is unavailable; retry after {0} s"),
            // RFC 9148 §4.5: EST's 204 and 404 are "not available for the client", 4.04 in EST-coaps.
            204 or 404 => Diagnostic(CoapCode.NotFound, UpstreamText(response, "not available")),
            400 => Diagnostic(CoapCode.BadRequest, UpstreamText(response, "bad request")),
            401 => Diagnostic(CoapCode.Unauthorized, UpstreamText(response, "the EST server upstream did not accept this registrar's authentication")),
            403 => Diagnostic(CoapCode.Forbidden, UpstreamText(response, "forbidden")),
            405 => Diagnostic(CoapCode.MethodNotAllowed, UpstreamText(response, "method not allowed")),
            406 => Diagnostic(CoapCode.NotAcceptable, UpstreamText(response, "not acceptable")),
            413 => Diagnostic(CoapCode.RequestEntityTooLarge, UpstreamText(response, "request too large")),
            415 => Diagnostic(CoapCode.UnsupportedContentFormat, UpstreamText(response, "unsupported media type")),
            501 => Diagnostic(CoapCode.NotImplemented, UpstreamText(response, "not implemented upstream")),
            504 => Diagnostic(CoapCode.GatewayTimeout, UpstreamText(response, "gateway timeout upstream")),
            _ => Diagnostic(CoapCode.BadGateway, $"the EST server upstream answered HTTP {response.StatusCode.ToString(CultureInfo.InvariantCulture)}"),
        };
        if (response.StatusCode == 401)
        {
            EstLog.UpstreamUnauthorized(_logger, operation, requester, upstream);
        }

        EstLog.Forwarded(_logger, operation, requester, upstream, response.StatusCode, Name(answer.Code));
        return answer;
    }

    private static string Name(CoapCode code) => code.ToString();

    private static CoapMessage Pending(TimeSpan retryAfter, string format)
    {
        uint maxAge = MaxAgeOf(retryAfter);
        return new CoapMessage { Code = CoapCode.ServiceUnavailable }.SetUInt(CoapOptionNumber.MaxAge, maxAge)
            .WithPayload(string.Format(CultureInfo.InvariantCulture, format, maxAge));
    }

    // Max-Age is at least 1 s (the client waits, then repeats) and fits the option's 32 bits.
    private static uint MaxAgeOf(TimeSpan delay) => (uint)Math.Clamp(Math.Ceiling(delay.TotalSeconds), 1, uint.MaxValue);

    private static string UpstreamText(EstHttpsResponse response, string fallback)
    {
        string text = string.IsNullOrWhiteSpace(response.Text) ? fallback : response.Text;
        return "upstream: " + (text.Length > MaxDiagnosticLength ? text[..MaxDiagnosticLength] : text);
    }

    // A 200 answer in the device's Content-Format (RFC 9148 §4.3, §5): the DER the base64 carried, a certs-only's single certificate
    // for 287, and for server-side key generation a multipart-core of [key as 284 or 280, certificate as 281 or 287].
    private CoapMessage Success(string operation, int? accept, IReadOnlyList<EstHttpsPart> parts)
    {
        try
        {
            switch (operation)
            {
                case Crts:
                {
                    byte[] certsOnly = Single(parts, "application/pkcs7-mime").Der;
                    if (accept != CoapContentFormat.PkixCert)
                    {
                        return Content(CoapCode.Content, CoapContentFormat.Pkcs7CertsOnly, certsOnly);
                    }

                    // RFC 9148 §4.3: one certificate, the trust anchor (the self-signed one) when the answer carries it.
                    X509Certificate2Collection certificates = Pkcs7CertsOnly.Decode(certsOnly);
                    X509Certificate2 anchor = certificates.FirstOrDefault(c => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData))
                        ?? certificates.First();
                    return Content(CoapCode.Content, CoapContentFormat.PkixCert, anchor.RawData);
                }

                case Att:
                    return Content(CoapCode.Content, CoapContentFormat.CsrAttrs, Single(parts, "application/csrattrs").Der);

                case Sen or Sren:
                {
                    byte[] certsOnly = Single(parts, "application/pkcs7-mime").Der;
                    return accept == CoapContentFormat.PkixCert
                        ? Content(CoapCode.Changed, CoapContentFormat.PkixCert, IssuedOf(certsOnly).RawData)
                        : Content(CoapCode.Changed, CoapContentFormat.Pkcs7CertsOnly, certsOnly);
                }

                default:
                {
                    // RFC 7030 §4.4.2: the key part (application/pkcs8, or application/pkcs7-mime; smime-type=server-generated-key
                    // when encrypted) and the certificate part (application/pkcs7-mime; smime-type=certs-only).
                    EstHttpsPart key = parts.FirstOrDefault(p => p.MediaType == "application/pkcs8")
                        ?? parts.FirstOrDefault(p => p.MediaType == "application/pkcs7-mime" && p.SmimeType == "server-generated-key")
                        ?? throw new CryptographicException("no key part (application/pkcs8 or server-generated-key)");
                    EstHttpsPart certificate = parts.FirstOrDefault(p => p.MediaType == "application/pkcs7-mime" && p != key && p.SmimeType is null or "certs-only")
                        ?? throw new CryptographicException("no certificate part (application/pkcs7-mime; smime-type=certs-only)");
                    MultipartCorePart keyPart = new(key.MediaType == "application/pkcs8" ? CoapContentFormat.Pkcs8 : CoapContentFormat.Pkcs7ServerGeneratedKey, key.Der);
                    MultipartCorePart certificatePart = operation == Skc
                        ? new MultipartCorePart(CoapContentFormat.PkixCert, IssuedOf(certificate.Der).RawData)
                        : new MultipartCorePart(CoapContentFormat.Pkcs7CertsOnly, certificate.Der);
                    try
                    {
                        return Content(CoapCode.Changed, CoapContentFormat.MultipartCore, MultipartCore.Encode([keyPart, certificatePart]));
                    }
                    finally
                    {
                        CryptographicOperations.ZeroMemory(key.Der);
                    }
                }
            }
        }
        catch (CryptographicException ex)
        {
            EstLog.UpstreamFailed(_logger, operation, "-", _upstream!.Root.AbsoluteUri, "answered badly", ex.Message, Name(CoapCode.BadGateway));
            return Diagnostic(CoapCode.BadGateway, "the EST server upstream gave an answer this registrar cannot use");
        }
    }

    private static EstHttpsPart Single(IReadOnlyList<EstHttpsPart> parts, string mediaType) =>
        parts.Count == 1 && parts[0].MediaType == mediaType ? parts[0] : throw new CryptographicException($"expected one {mediaType} representation");

    // RFC 7030 §4.2.3: the certs-only answer holds the issued certificate; should it carry CA certificates too, the end-entity one.
    private static X509Certificate2 IssuedOf(byte[] certsOnly)
    {
        X509Certificate2Collection certificates = Pkcs7CertsOnly.Decode(certsOnly);
        return certificates.FirstOrDefault(c => c.Extensions.OfType<X509BasicConstraintsExtension>().All(b => !b.CertificateAuthority))
            ?? throw new CryptographicException("the certs-only answer holds no end-entity certificate");
    }
}
