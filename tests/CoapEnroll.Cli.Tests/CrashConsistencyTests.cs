using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// kill -9 of <c>coapenroll serve</c> during a burst of EST /sen enrollments, a /sren and a CMP rr, then a restart on the same data
/// directory: every certificate a client received is in the store, the store passes PRAGMA integrity_check, and a client that
/// retries its request (the same CSR, in a new DTLS session, as a device does after a lost answer) gets the certificate issued
/// the first time, not a second one. Two requests are made to be committed and never answered (their answers are dropped on the
/// way back) so that the case a crash makes likely is always there; the burst adds whatever the kill happens to cut.
/// </summary>
public sealed class CrashConsistencyTests(ITestOutputHelper output) : IDisposable
{
    private const string Subject = "CN=demo-device-1";
    private const int BurstWorkers = 4;
    private const int ReceivedBeforeKill = 6;

    private readonly string _work = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task KillDuringBurst_LosesNoCertificate_KeepsTheStoreIntact_AndRetriesGetTheSameCertificate()
    {
        using var whole = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        Directory.CreateDirectory(_work);
        ServeProcess first = await ServeProcess.StartAsync(_work);
        string data = first.DataDirectory;
        string database = Path.Combine(data, "coapenroll.db");
        using var trust = X509CertificateLoader.LoadCertificateFromFile(first.TrustAnchor);
        using var device = X509Certificate2.CreateFromPemFile(Path.Combine(data, "demo", "device.pem"), Path.Combine(data, "demo", "device.key"));
        var received = new ConcurrentBag<X509Certificate2>();
        List<Attempt> attempts = [];
        Attempt silentSen, silentSren;
        X509Certificate2 renewed, revoked;
        CliResult? revocation = null;
        bool killed = false;
        int killing = 0; // set just before the kill: a worker's failure from then on (no server at the port) ends it like the cancellation
        try
        {
            // Before the burst: a certificate to renew and one to revoke.
            var endPoint = new IPEndPoint(IPAddress.Loopback, first.SecurePort);
            renewed = await EnrollNewAsync(endPoint, trust, device, whole.Token);
            revoked = await EnrollNewAsync(endPoint, trust, device, whole.Token);
            received.Add(renewed);
            received.Add(revoked);
            string revokedPem = Path.Combine(_work, "revoked.pem"), revokedKey = Path.Combine(_work, "revoked.key");
            await File.WriteAllTextAsync(revokedPem, revoked.ExportCertificatePem(), whole.Token);
            await File.WriteAllTextAsync(revokedKey, revoked.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), whole.Token);

            // A /sen and a /sren that the server commits and whose answers never arrive.
            await using var senForwarder = new LossyForwarder(endPoint);
            await using var srenForwarder = new LossyForwarder(endPoint);
            using var silent = CancellationTokenSource.CreateLinkedTokenSource(whole.Token);
            silentSen = await StartSilentAsync(senForwarder, trust, device, reenroll: false, silent.Token);
            silentSren = await StartSilentAsync(srenForwarder, trust, renewed, reenroll: true, silent.Token);
            X509Certificate2 silentSenStored = await WaitForStoredAsync(database, silentSen.PublicKey, whole.Token);
            X509Certificate2 silentSrenStored = await WaitForStoredAsync(database, silentSren.PublicKey, whole.Token);

            // The burst: workers enroll one device after another; the rr starts in the middle; the kill comes once a few answered.
            using var burst = CancellationTokenSource.CreateLinkedTokenSource(whole.Token);
            var started = new ConcurrentQueue<Attempt>();
            var enoughAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int answered = 0;
            Task<CliResult>? rr = null;
            var rrStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task[] workers = Enumerable.Range(0, BurstWorkers).Select(_ => Task.Run(async () =>
            {
                while (!burst.IsCancellationRequested)
                {
                    try
                    {
                        await using var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(endPoint, DtlsOptions(trust, device), burst.Token));
                        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                        var attempt = new Attempt(key, client.CreateCsr(new X500DistinguishedName(Subject), key));
                        started.Enqueue(attempt);
                        attempt.Received = await client.EnrollAsync(attempt.Csr, cancellationToken: burst.Token);
                        received.Add(attempt.Received);
                        int now = Interlocked.Increment(ref answered);
                        if (now == 2)
                        {
                            rrStarted.TrySetResult();
                        }
                        else if (now >= ReceivedBeforeKill)
                        {
                            enoughAnswered.TrySetResult();
                        }
                    }
                    catch (Exception) when (burst.IsCancellationRequested || Volatile.Read(ref killing) == 1)
                    {
                        return;
                    }
                }
            })).ToArray();

            await rrStarted.Task.WaitAsync(whole.Token);
            rr = CliRunner.RunAsync(["cmp", "rr", "--server", first.Uri("/.well-known/cmp"), "--trust", first.TrustAnchor, "--cert", revokedPem,
                "--key", revokedKey, "--oldcert", revokedPem, "--reason", "1"], burst.Token);
            await enoughAnswered.Task.WaitAsync(whole.Token);

            // SIGKILL (Process.Kill), while the workers' next requests are in flight.
            Volatile.Write(ref killing, 1);
            await first.DisposeAsync();
            killed = true;
            burst.Cancel();
            silent.Cancel();
            await Task.WhenAll(workers);
            revocation = await rr;
            attempts = [.. started];
            await IgnoreCancellationAsync(silentSen.Enrolling!);
            await IgnoreCancellationAsync(silentSren.Enrolling!);
            Assert.Null(silentSen.Received);
            Assert.Null(silentSren.Received);

            Assert.Equal("ok", IntegrityCheck(database));
            IReadOnlyList<X509Certificate2> afterKill = StoredCertificates(database);
            foreach (X509Certificate2 certificate in received)
            {
                Assert.Contains(afterKill, stored => stored.RawData.AsSpan().SequenceEqual(certificate.RawData));
            }

            bool rrRevokedBeforeRestart = CertificateStatus(database, revoked) == "revoked";
            int committedUnanswered = attempts.Count(a => a.Received is null && afterKill.Any(c => c.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(a.PublicKey)));
            output.WriteLine($"answered before the kill: {received.Count} (burst {answered}), burst requests cut: {attempts.Count(a => a.Received is null)} "
                + $"(of them stored: {committedUnanswered}), "
                + $"rr: exit code {revocation.ExitCode} (stored: {rrRevokedBeforeRestart}), certificates in the store: {afterKill.Count}");

            // The restart, on the same data directory.
            await using ServeProcess second = await ServeProcess.StartAsync(_work);
            var restarted = new IPEndPoint(IPAddress.Loopback, second.SecurePort);

            // Every client retries what it sent (answered or not): the same CSR in a new session gets the first certificate.
            foreach (Attempt attempt in attempts.Append(silentSen))
            {
                bool committed = afterKill.Any(c => c.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(attempt.PublicKey));
                X509Certificate2 again = await RetryAsync(restarted, trust, device, attempt, committed, whole.Token);
                if (attempt.Received is not null)
                {
                    Assert.Equal(attempt.Received.RawData, again.RawData);
                }

                if (committed)
                {
                    Assert.Contains(afterKill, stored => stored.RawData.AsSpan().SequenceEqual(again.RawData));
                }

                if (ReferenceEquals(attempt, silentSen))
                {
                    Assert.Equal(silentSenStored.RawData, again.RawData);
                }
            }

            // The /sren committed before the kill superseded the certificate it renewed; the device retries it as it must, with that
            // certificate and the same CSR (linked to the lost session) in a new session, and gets the certificate stored for it.
            Assert.Equal("superseded", CertificateStatus(database, renewed));
            Assert.Equal("active", CertificateStatus(database, silentSrenStored));
            X509Certificate2 srenAgain = await RetryReenrollAsync(restarted, trust, renewed, silentSren, whole.Token);
            Assert.Equal(silentSrenStored.RawData, srenAgain.RawData);

            // Only that: another renewal with the superseded certificate is refused, and issues nothing.
            var refused = await Assert.ThrowsAsync<EstRequestException>(() => RetryReenrollAsync(restarted, trust, renewed,
                new Attempt(silentSren.Key, CreateCsrIn(silentSren.Key)), whole.Token));
            Assert.Equal(CoapEnroll.Coap.CoapCode.Forbidden, refused.Code);

            // The rr, retried whatever became of the first attempt: it succeeds, as "revoked" or, when the killed server committed the
            // first one, as "already revoked"; the certificate ends revoked, once, with the first reason.
            CliResult rrAgain = await CliRunner.RunAsync(["cmp", "rr", "--server", second.Uri("/.well-known/cmp"), "--trust", second.TrustAnchor, "--cert", revokedPem,
                "--key", revokedKey, "--oldcert", revokedPem, "--reason", "1"], whole.Token);
            output.WriteLine($"rr retried: exit code {rrAgain.ExitCode} {rrAgain.Output.Trim()} {rrAgain.Error.Trim()}");
            Assert.True(rrAgain.ExitCode == 0, $"{revocation.Describe()}{Environment.NewLine}{rrAgain.Describe()}");
            Assert.Contains(rrRevokedBeforeRestart ? "was already revoked" : $"Revoked serial {revoked.SerialNumber}", rrAgain.Output, StringComparison.Ordinal);
            Assert.Equal("revoked", CertificateStatus(database, revoked));

            // One certificate per CSR: the retries issued nothing new.
            IReadOnlyList<X509Certificate2> final = StoredCertificates(database);
            foreach (Attempt attempt in attempts.Append(silentSen).Append(silentSren))
            {
                Assert.Single(final, c => c.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(attempt.PublicKey));
            }

            Assert.Equal("ok", IntegrityCheck(database));
        }
        finally
        {
            if (!killed)
            {
                await first.DisposeAsync();
            }
        }
    }

    private static DtlsClientOptions DtlsOptions(X509Certificate2 trust, X509Certificate2 clientCertificate)
    {
        var options = new DtlsClientOptions { ClientCertificate = clientCertificate, ServerName = "localhost" };
        options.ServerCertificateTrustAnchors.Add(trust);
        return options;
    }

    private static async Task<X509Certificate2> EnrollNewAsync(IPEndPoint server, X509Certificate2 trust, X509Certificate2 device, CancellationToken cancellationToken)
    {
        await using var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(server, DtlsOptions(trust, device), cancellationToken));
        return await client.EnrollAsync(new X500DistinguishedName(Subject), ECDsa.Create(ECCurve.NamedCurves.nistP256), cancellationToken: cancellationToken);
    }

    /// <summary>Connects through <paramref name="forwarder"/>, then drops every answer and sends the request (POP-linked to this session).</summary>
    private static async Task<Attempt> StartSilentAsync(LossyForwarder forwarder, X509Certificate2 trust, X509Certificate2 clientCertificate, bool reenroll,
        CancellationToken cancellationToken)
    {
        var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsOptions(trust, clientCertificate), cancellationToken));
        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var attempt = new Attempt(key, client.CreateCsr(new X500DistinguishedName(Subject), key));
        forwarder.DropNextToClient = int.MaxValue;
        attempt.Enrolling = Task.Run(async () =>
        {
            await using (client)
            {
                attempt.Received = reenroll
                    ? await client.ReenrollAsync(attempt.Csr, cancellationToken: cancellationToken)
                    : await client.EnrollAsync(attempt.Csr, cancellationToken: cancellationToken);
            }
        }, CancellationToken.None);
        return attempt;
    }

    /// <summary>
    /// The same CSR again in a new session. One the server never accepted is refused there (its challengePassword is the first
    /// session's tls-unique, RFC 7030 §3.5); the device then asks again for the same key with a CSR linked to the new session.
    /// </summary>
    private static async Task<X509Certificate2> RetryAsync(IPEndPoint server, X509Certificate2 trust, X509Certificate2 clientCertificate, Attempt attempt, bool committed,
        CancellationToken cancellationToken)
    {
        await using var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(server, DtlsOptions(trust, clientCertificate), cancellationToken));
        try
        {
            return await client.EnrollAsync(attempt.Csr, cancellationToken: cancellationToken);
        }
        catch (EstRequestException ex) when (!committed && ex.Code == CoapEnroll.Coap.CoapCode.Forbidden)
        {
            return await client.EnrollAsync(client.CreateCsr(new X500DistinguishedName(Subject), attempt.Key), cancellationToken: cancellationToken);
        }
    }

    private static async Task<X509Certificate2> RetryReenrollAsync(IPEndPoint server, X509Certificate2 trust, X509Certificate2 clientCertificate, Attempt attempt,
        CancellationToken cancellationToken)
    {
        await using var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(server, DtlsOptions(trust, clientCertificate), cancellationToken));
        return await client.ReenrollAsync(attempt.Csr, cancellationToken: cancellationToken);
    }

    /// <summary>A CSR for <paramref name="key"/>, linked to no session (the profile does not require linking).</summary>
    private static byte[] CreateCsrIn(ECDsa key) =>
        new System.Security.Cryptography.X509Certificates.CertificateRequest(new X500DistinguishedName(Subject), key, HashAlgorithmName.SHA256).CreateSigningRequest();

    private static async Task IgnoreCancellationAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<X509Certificate2> WaitForStoredAsync(string database, byte[] publicKey, CancellationToken cancellationToken)
    {
        while (true)
        {
            X509Certificate2? stored = StoredCertificates(database).FirstOrDefault(c => c.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(publicKey));
            if (stored is not null)
            {
                return stored;
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static SqliteConnection Open(string database)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 30000;";
        busy.ExecuteNonQuery();
        return connection;
    }

    private static string IntegrityCheck(string database)
    {
        using SqliteConnection connection = Open(database);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        return string.Join("; ", Rows(command, r => r.GetString(0)));
    }

    private static IReadOnlyList<X509Certificate2> StoredCertificates(string database)
    {
        using SqliteConnection connection = Open(database);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT der FROM certificates;";
        return Rows(command, r => X509CertificateLoader.LoadCertificate((byte[])r.GetValue(0)));
    }

    private static string CertificateStatus(string database, X509Certificate2 certificate)
    {
        using SqliteConnection connection = Open(database);
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT status, der FROM certificates;";
        return Assert.Single(Rows(command, r => (Status: r.GetString(0), Der: (byte[])r.GetValue(1))), row => row.Der.AsSpan().SequenceEqual(certificate.RawData)).Status;
    }

    private static List<T> Rows<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var rows = new List<T>();
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>One request a client made: its CSR (kept to retry with), and the certificate if the answer arrived.</summary>
    private sealed class Attempt(ECDsa key, byte[] csr)
    {
        public ECDsa Key { get; } = key;

        public byte[] Csr { get; } = csr;

        public byte[] PublicKey { get; } = System.Security.Cryptography.X509Certificates.CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256,
            CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions).PublicKey.ExportSubjectPublicKeyInfo();

        public X509Certificate2? Received { get; set; }

        public Task? Enrolling { get; set; }
    }
}
