using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Pkix;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// An EST server over HTTPS (RFC 7030) for the registrar tests, written from the RFC independently of the registrar: Kestrel on a
/// loopback port with the CA fixture's server credential, a TLS client certificate required, and /cacerts, /csrattrs,
/// /simpleenroll, /simplereenroll and /serverkeygen (also under a label) answered by a real <see cref="EnrollmentService"/> on
/// the fixture's CA. Bodies are base64 with line breaks every 64 characters (RFC 8951 allows them); a pending request is 202 with
/// Retry-After, a refusal 403 with its text.
/// </summary>
internal sealed class HttpsEstUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EnrollmentService _enrollment;

    private HttpsEstUpstream(WebApplication app, EnrollmentService enrollment, Uri root)
    {
        _app = app;
        _enrollment = enrollment;
        Root = root;
    }

    /// <summary><c>https://127.0.0.1:PORT/.well-known/est</c>.</summary>
    public Uri Root { get; }

    /// <summary>How often an operation was answered (any status): proves what reached the CA and what did not.</summary>
    public int Requests => _requests;

    private int _requests;

    /// <summary>Answer every request with this status and text instead (null: serve EST).</summary>
    public (int Status, string? RetryAfter)? Override { get; set; }

    /// <summary>The Date header of the <see cref="Override"/> answer (an upstream whose clock differs from ours), when set.</summary>
    public string? OverrideDate { get; set; }

    /// <param name="port">The TCP port; 0 picks a free one (a test that stops and starts the server again passes the one it had).</param>
    public static async Task<HttpsEstUpstream> StartAsync(EstFixture ca, int port = 0)
    {
        X509Certificate2 server = X509Certificate2.CreateFromPemFile(ca.Hierarchy.Layout.ServerCertificate, ca.Hierarchy.Layout.ServerKey);
        var enrollment = new EnrollmentService(ca.Authority, ca.Hierarchy,
            new EnrollmentOptions { KeyGenerationSecret = RandomNumberGenerator.GetBytes(32), PendingRetryAfter = TimeSpan.FromSeconds(2) });
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = server,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            // Whether the client is anyone is the enrollment core's decision, as in the real server.
            ClientCertificateValidation = (_, _, _) => true,
        })));
        WebApplication app = builder.Build();
        HttpsEstUpstream? self = null;
        app.MapMethods("/.well-known/est/{**path}", ["GET", "POST"], (HttpContext context) => self!.HandleAsync(context));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new HttpsEstUpstream(app, enrollment, new Uri(new Uri(address), "/.well-known/est"));
        return self;
    }

    /// <summary>A pooled client as a registrar holds it: <paramref name="client"/> (with its key) as TLS client certificate, the fixture's anchor alone trusted.</summary>
    public static HttpClient ClientFor(X509Certificate2 client, X509Certificate2 trustAnchor, params X509Certificate2[] intermediates) =>
        new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.Add(trustAnchor);
                    chain.ChainPolicy.ExtraStore.AddRange(intermediates);
                    return certificate is X509Certificate2 leaf && chain.Build(leaf);
                },
            },
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        if (Override is { } fixedAnswer)
        {
            context.Response.StatusCode = fixedAnswer.Status;
            if (fixedAnswer.RetryAfter is { } retry)
            {
                context.Response.Headers.RetryAfter = retry;
            }

            if (OverrideDate is { } date)
            {
                context.Response.Headers.Date = date;
            }

            await context.Response.WriteAsync($"answer {fixedAnswer.Status} as configured");
            return;
        }

        string[] segments = ((string?)context.Request.RouteValues["path"] ?? "").Split('/');
        string operation = segments[^1];
        string? label = segments.Length == 2 ? segments[0] : null;
        X509Certificate2? certificate = await context.Connection.GetClientCertificateAsync();
        AuthenticationResult authentication = await _enrollment.AuthenticateAsync(
            PeerIdentity.SecureChannel("est-https", certificate is null ? [] : [certificate], null, null), context.RequestAborted);
        if (authentication.Requester is not { } requester)
        {
            await TextAsync(context, authentication.Failure is AuthenticationFailure.NoCertificate ? 401 : 403, authentication.Detail ?? "no");
            return;
        }

        switch (operation)
        {
            case "cacerts":
                await Base64Async(context, "application/pkcs7-mime; smime-type=certs-only", Pkcs7CertsOnly.Encode(_enrollment.Authority.CaCertificates));
                return;
            case "csrattrs":
                await Base64Async(context, "application/csrattrs", EstCsrAttributes.Encode(EstCsrAttributes.Default));
                return;
            case "simpleenroll" or "simplereenroll" or "serverkeygen":
                break;
            default:
                await TextAsync(context, 404, $"no operation {operation}");
                return;
        }

        if (!string.Equals(context.Request.ContentType, "application/pkcs10", StringComparison.OrdinalIgnoreCase))
        {
            await TextAsync(context, 415, "application/pkcs10 only");
            return;
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.ASCII);
        byte[] der = Convert.FromBase64String(await reader.ReadToEndAsync(context.RequestAborted));
        EstCsr? csr = EstCsr.TryParse(der, out string? problem);
        if (csr is null)
        {
            await TextAsync(context, 400, problem!);
            return;
        }

        using EnrollmentOutcome outcome = await _enrollment.EnrollAsync(new EnrollmentRequest
        {
            Requester = requester,
            Operation = operation switch { "simpleenroll" => EnrollmentOperation.Enroll, "simplereenroll" => EnrollmentOperation.Reenroll, _ => EnrollmentOperation.ServerKeyGeneration },
            OperationName = operation,
            ProfileName = label,
            Request = csr.Request,
            ChannelBindingClaim = csr.ChallengePassword,
        }, context.RequestAborted);
        switch (outcome.Status)
        {
            case EnrollmentStatus.Pending:
                context.Response.Headers.RetryAfter = ((int)outcome.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await TextAsync(context, 202, "pending");
                return;
            case EnrollmentStatus.Refused:
                await TextAsync(context, outcome.Reason == RejectionReason.UnknownProfile ? 404 : 403, outcome.Detail ?? outcome.Reason.ToString());
                return;
        }

        byte[] certsOnly = Pkcs7CertsOnly.Encode([outcome.Certificate!]);
        if (operation != "serverkeygen")
        {
            await Base64Async(context, "application/pkcs7-mime; smime-type=certs-only", certsOnly);
            return;
        }

        // RFC 7030 §4.4.2: the private key part first, then the certificate part.
        const string Boundary = "est-boundary-7";
        var body = new StringBuilder()
            .Append("--").Append(Boundary).Append("\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
            .Append(Wrapped(outcome.GeneratedKey!.ExportPkcs8PrivateKey())).Append("\r\n--").Append(Boundary)
            .Append("\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\nContent-Transfer-Encoding: base64\r\n\r\n")
            .Append(Wrapped(certsOnly)).Append("\r\n--").Append(Boundary).Append("--\r\n");
        context.Response.ContentType = $"multipart/mixed; boundary={Boundary}";
        await context.Response.WriteAsync(body.ToString());
    }

    private static Task TextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(text);
    }

    private static Task Base64Async(HttpContext context, string contentType, byte[] der)
    {
        context.Response.ContentType = contentType;
        context.Response.Headers["Content-Transfer-Encoding"] = "base64";
        return context.Response.WriteAsync(Wrapped(der));
    }

    private static string Wrapped(byte[] der) => Convert.ToBase64String(der, Base64FormattingOptions.InsertLineBreaks);
}
