using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CoapEnroll.Cli.Tests.Admin;

/// <summary>
/// The host <c>serve</c> runs with the operator page on (user <see cref="User"/>, password <see cref="Password"/>, hashed with the
/// fewest iterations the parser takes so that each login costs little) and profile <c>manual</c>, which waits for an operator and
/// issues any name; HTTP clients that trust only this server's certificate and keep cookies.
/// </summary>
public sealed partial class AdminHost : IAsyncDisposable
{
    public const string User = "operator";
    public const string Password = "correct horse battery staple";

    private static readonly string s_passwordHash = AdminPasswordHash.Create(Password, AdminPasswordHash.MinIterations);

    private AdminHost(InProcessServer server) => Server = server;

    public InProcessServer Server { get; }

    public ICertificateStore Store => Server.Services.GetRequiredService<CertificationServices>().Store;

    public X509Certificate2 ServerCertificate => Server.Services.GetRequiredService<CertificationServices>().ServerCredential.Certificate;

    /// <summary>base64 SHA-256 of the server certificate's SubjectPublicKeyInfo, as chromium's SPKI pin list takes it.</summary>
    public string ServerKeyPin => Convert.ToBase64String(SHA256.HashData(ServerCertificate.PublicKey.ExportSubjectPublicKeyInfo()));

    public Uri BaseUri => new($"https://127.0.0.1:{Server.HttpsPort}/");

    public static Dictionary<string, string?> Settings(bool password = true) => new()
    {
        ["Est:PendingRetryAfter"] = "00:00:01",
        ["Ca:Profiles:manual:RequiresApproval"] = "true",
        ["Ca:Profiles:manual:NamePolicy"] = "AnyName",
        ["Admin:Enabled"] = "true",
        ["Admin:User"] = password ? User : null,
        ["Admin:PasswordHash"] = password ? s_passwordHash : null,
    };

    public static async Task<AdminHost> StartAsync(IDictionary<string, string?>? settings = null) =>
        new(await InProcessServer.StartAsync(settings ?? Settings()));

    /// <summary>An HTTPS client to the server (no redirects followed, cookies kept), presenting <paramref name="clientCertificate"/> if given.</summary>
    public HttpClient Client(X509Certificate2? clientCertificate = null)
    {
        X509Certificate2 server = ServerCertificate;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = new CookieContainer(),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(server.RawData),
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        return new HttpClient(handler) { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>POSTs the login form; the answer (303 with the session cookie when right).</summary>
    public static Task<HttpResponseMessage> LogInAsync(HttpClient client, string user = User, string password = Password) =>
        client.PostAsync(new Uri("/admin/login", UriKind.Relative), new FormUrlEncodedContent([new("user", user), new("password", password)]));

    public static Task<HttpResponseMessage> PostFormAsync(HttpClient client, string path, params (string Name, string Value)[] fields) =>
        client.PostAsync(new Uri(path, UriKind.Relative), new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))));

    /// <summary>The CSRF token in a page's forms.</summary>
    public static string CsrfOf(string html) => CsrfField().Match(html) is { Success: true } m ? m.Groups["token"].Value : throw new InvalidOperationException("no CSRF field in: " + html);

    /// <summary>
    /// Sends a CSR for <paramref name="subject"/> to EST over HTTPS (profile manual) as the demo device, which the CA holds for
    /// approval (202); returns the pending request's id.
    /// </summary>
    public async Task<long> SubmitPendingAsync(X500DistinguishedName subject)
    {
        using X509Certificate2 device = X509Certificate2.CreateFromPemFile(Server.DemoDeviceCertificateFile, Server.DemoDeviceKeyFile);
        using HttpClient client = Client(device);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSigningRequest();
        using var body = new StringContent(Convert.ToBase64String(csr));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs10");
        using HttpResponseMessage answer = await client.PostAsync(new Uri("/.well-known/est/manual/simpleenroll", UriKind.Relative), body);
        Assert.True(answer.StatusCode == HttpStatusCode.Accepted, $"{answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
        IReadOnlyList<StoredRequest> pending = await Store.ListPendingRequestsAsync(100, CancellationToken.None);
        return pending[^1].Id;
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    [GeneratedRegex("name=csrf value=\"(?<token>[^\"]+)\"")]
    private static partial Regex CsrfField();
}
