using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Bench;

/// <summary>
/// The crypto bound of one EST-coaps enrollment on the server (issue 12, target 3): only the public-key operations the server
/// must do for it, with System.Security.Cryptography (OpenSSL underneath, as in the server), timed on one thread (CPU time of
/// this process, /proc, and wall clock) and on every core at once (wall clock). Per enrollment, for a client certificate
/// chain of <c>chainCertificates</c> certificates:
/// <list type="bullet">
/// <item>handshake: 1 ECDSA P-256 sign (ServerKeyExchange), 1 ECDHE P-256 in three timed steps as the server does it
/// (ephemeral key generation, the peer's point imported and validated, derive), <c>chainCertificates</c> + 1 ECDSA P-256 verifies (each certificate of the client's chain, its
/// CertificateVerify);</item>
/// <item>/sen: 1 ECDSA P-256 verify (the CSR's signature), 1 ECDSA P-256 sign (the certificate, by the issuing CA's key).</item>
/// </list>
/// Hashing, record protection, the PRF, ASN.1 and everything else the server does are left out on purpose: the bound is what
/// no implementation can avoid.
/// Two more operations are timed the same way for information and are not in the bound's sums
/// (<see cref="BoundResult.NotInBound"/>): <c>x509-decode</c>, the device certificate's DER loaded as an
/// <see cref="System.Security.Cryptography.X509Certificates.X509Certificate2"/> (OpenSSL's d2i_X509 underneath), which a server
/// does for a client certificate it has not seen before; and <c>ec-import</c>, a P-256 SubjectPublicKeyInfo imported into an
/// <see cref="ECDsa"/>, which on Linux runs OpenSSL's full public-key check (a scalar multiplication n·Q).
/// </summary>
internal static class CryptoBound
{
    /// <summary>
    /// Times each operation for <paramref name="perOperation"/> on one thread, then as long on every core;
    /// <paramref name="deviceCertificate"/> (DER) is what <c>x509-decode</c> decodes and whose key <c>ec-import</c> imports.
    /// </summary>
    public static BoundResult Measure(int chainCertificates, TimeSpan perOperation, byte[] deviceCertificate)
    {
        using ECDsa serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDiffieHellman peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        ECParameters peerPoint = peer.ExportParameters(includePrivateParameters: false);

        // Sizes like the real messages: ServerKeyExchange's signed params (client+server random, curve, point) ~ 135 bytes,
        // a certificate's TBS ~ 400 bytes (the hash is a small part of either operation).
        byte[] skeParams = RandomNumberGenerator.GetBytes(135);
        byte[] tbs = RandomNumberGenerator.GetBytes(400);
        byte[] tbsSignature = deviceKey.SignData(tbs, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

        var operations = new (string Name, Func<ThreadState> Create)[]
        {
            ("ecdsa-sign", () => new ThreadState(serverKey, skeParams, tbsSignature, peerPoint)),
            ("ecdh-keygen", () => new ThreadState(serverKey, skeParams, tbsSignature, peerPoint)),
            ("ecdh-import", () => new ThreadState(serverKey, skeParams, tbsSignature, peerPoint)),
            ("ecdh-derive", () => new ThreadState(serverKey, skeParams, tbsSignature, peerPoint)),
            ("ecdsa-verify", () => new ThreadState(deviceKey, tbs, tbsSignature, peerPoint)),
        };
        var timings = new Dictionary<string, OperationTiming>(StringComparer.Ordinal);
        foreach ((string name, Func<ThreadState> create) in operations)
        {
            Action<ThreadState> op = name switch
            {
                "ecdsa-sign" => s => s.Sign(),
                "ecdh-keygen" => s => s.EcdhKeyGeneration(),
                "ecdh-import" => s => s.EcdhPeerImport(),
                "ecdh-derive" => s => s.EcdhDerive(),
                _ => s => s.Verify(),
            };
            timings[name] = Time(name, create, op, perOperation);
        }

        byte[] spki;
        using (X509Certificate2 parsed = X509CertificateLoader.LoadCertificate(deviceCertificate))
        {
            spki = parsed.PublicKey.ExportSubjectPublicKeyInfo();
        }

        var informational = new List<OperationTiming>
        {
            Time("x509-decode", () => new ThreadState(serverKey, deviceCertificate, tbsSignature, peerPoint), s => s.DecodeCertificate(), perOperation),
            Time("ec-import", () => new ThreadState(serverKey, spki, tbsSignature, peerPoint), s => s.ImportSubjectPublicKeyInfo(), perOperation),
        };
        return BoundResult.From(timings, chainCertificates) with { NotInBound = informational };
    }

    private static OperationTiming Time(string name, Func<ThreadState> create, Action<ThreadState> op, TimeSpan duration)
    {
        ThreadState single = create();
        for (int i = 0; i < 20; i++)
        {
            op(single); // warm-up: JIT, OpenSSL's lazy tables
        }

        TimeSpan cpuBefore = ProcessStats.CpuTime(Environment.ProcessId);
        long started = Stopwatch.GetTimestamp();
        long count = 0;
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            op(single);
            count++;
        }

        double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        double cpu = (ProcessStats.CpuTime(Environment.ProcessId) - cpuBefore).TotalSeconds;

        int cores = Environment.ProcessorCount;
        long total = 0;
        var threads = new Thread[cores];
        var barrier = new Barrier(cores + 1);
        long deadline = 0;
        for (int t = 0; t < cores; t++)
        {
            threads[t] = new Thread(() =>
            {
                ThreadState state = create();
                op(state);
                barrier.SignalAndWait();
                long mine = 0;
                while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline))
                {
                    op(state);
                    mine++;
                }

                Interlocked.Add(ref total, mine);
            }) { IsBackground = true };
            threads[t].Start();
        }

        Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        long parallelStart = Stopwatch.GetTimestamp();
        barrier.SignalAndWait();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        double parallelWall = Stopwatch.GetElapsedTime(parallelStart).TotalSeconds;
        return new OperationTiming(name, count, wall * 1e6 / count, cpu * 1e6 / count, total / parallelWall, cores);
    }

    /// <summary>One thread's objects: keys are shared (OpenSSL's EC keys are safe for concurrent use), buffers are not.</summary>
    private sealed class ThreadState(ECDsa key, byte[] data, byte[] signature, ECParameters peerPoint)
    {
        private readonly byte[] _signature = new byte[key.GetMaxSignatureSize(DSASignatureFormat.Rfc3279DerSequence)];

        public void Sign() => key.TrySignData(data, _signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence, out _);

        public void Verify()
        {
            if (!key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
            {
                throw new CryptographicException("the bound's own signature did not verify");
            }
        }

        private readonly ECDiffieHellman _ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

        private readonly ECDiffieHellman _peer = ImportPeer(peerPoint);

        /// <summary>ECDHE, first step as the server does it: a new ephemeral P-256 key and its public point for ServerKeyExchange.</summary>
        public void EcdhKeyGeneration()
        {
            using ECDiffieHellman ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            _ = ephemeral.ExportParameters(includePrivateParameters: false);
        }

        /// <summary>ECDHE, second step: the client's point imported, which validates it (on the curve).</summary>
        public void EcdhPeerImport() => ImportPeer(peerPoint).Dispose();

        /// <summary>ECDHE, last step: the shared secret.</summary>
        public void EcdhDerive()
        {
            using ECDiffieHellmanPublicKey peerPublic = _peer.PublicKey;
            byte[] secret = _ephemeral.DeriveRawSecretAgreement(peerPublic);
            CryptographicOperations.ZeroMemory(secret);
        }

        /// <summary>Not in the bound: <c>data</c> (a certificate's DER) decoded as an X509Certificate2.</summary>
        public void DecodeCertificate() => X509CertificateLoader.LoadCertificate(data).Dispose();

        /// <summary>Not in the bound: <c>data</c> (a P-256 SubjectPublicKeyInfo) imported into a new ECDsa, which validates the key.</summary>
        public void ImportSubjectPublicKeyInfo()
        {
            using var imported = ECDsa.Create();
            imported.ImportSubjectPublicKeyInfo(data, out _);
        }

        private static ECDiffieHellman ImportPeer(ECParameters point)
        {
            var peer = ECDiffieHellman.Create();
            peer.ImportParameters(point);
            return peer;
        }
    }
}
