using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca.Pkcs11;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Configuration;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// The issuing key on a SoftHSM2 token (a fresh token per test, in this process's temporary token directory): generated there
/// and not exportable, signing certificates and CRLs that openssl accepts, ECDSA P-256/P-384 and RSA PKCS#1 v1.5/PSS, the
/// failures an operator meets (wrong PIN, missing key, missing token), and the reconnect after the sessions are lost.
/// </summary>
public sealed class Pkcs11KeyTests
{
    private const string Pin = "4321";

    [Fact]
    public async Task GeneratedKey_IsSensitiveNotExtractable_AndTheTokenRefusesItsValue()
    {
        Pkcs11KeyOptions options = await NewTokenAsync();

        using var key = (Pkcs11SigningKey)await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None);

        List<IObjectAttribute> attributes = key.ReadPrivateKeyAttributes([CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_NEVER_EXTRACTABLE, CKA.CKA_VALUE]);
        Assert.True(attributes[0].GetValueAsBool());
        Assert.False(attributes[1].GetValueAsBool());
        Assert.True(attributes[2].GetValueAsBool());
        // C_GetAttributeValue answers CKR_ATTRIBUTE_SENSITIVE for CKA_VALUE of such a key; Pkcs11Interop marks it unreadable.
        Assert.True(attributes[3].CannotBeRead);
        using CaSigningLease lease = await key.AcquireAsync(CancellationToken.None);
        Assert.Throws<CryptographicException>(() => ((ECDsa)lease.Key).ExportParameters(includePrivateParameters: true));
        Assert.Throws<CryptographicException>(() => ((ECDsa)lease.Key).ExportPkcs8PrivateKey());
    }

    [Theory]
    [InlineData(Pkcs11KeyType.EcP256, Pkcs11RsaPadding.Pkcs1)]
    [InlineData(Pkcs11KeyType.EcP384, Pkcs11RsaPadding.Pkcs1)]
    [InlineData(Pkcs11KeyType.Rsa2048, Pkcs11RsaPadding.Pkcs1)]
    [InlineData(Pkcs11KeyType.Rsa2048, Pkcs11RsaPadding.Pss)]
    public async Task TokenKey_SignsCaCertificateLeafAndCrl_ThatOpenSslVerifies(Pkcs11KeyType keyType, Pkcs11RsaPadding padding)
    {
        Pkcs11KeyOptions options = await NewTokenAsync(o =>
        {
            o.KeyType = keyType;
            o.RsaPadding = padding;
        });
        using var directory = new TempDirectory("coapenroll-pkcs11-");
        using CaSigningKey key = await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 root = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Root"), rootKey, now.AddMinutes(-5), now.AddYears(1), null);
        using X509Certificate2 rootWithKey = root.CopyWithPrivateKey(rootKey);
        using X509Certificate2 issuing = CertificateFactory.CreateSubordinateCa(new X500DistinguishedName("CN=Token Issuing CA"), key.PublicKey, rootWithKey,
            now.AddMinutes(-5), now.AddYears(1), 0);
        Assert.True(key.Matches(issuing));
        Assert.False(key.Matches(root));

        using ECDsa leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 leaf;
        byte[] crl;
        using (CaSigningLease lease = await key.AcquireAsync(CancellationToken.None))
        {
            leaf = CertificateFactory.Sign(new X500DistinguishedName("CN=device"), new PublicKey(leafKey), issuing, lease.Key, lease.RsaPadding,
                now.AddMinutes(-1), now.AddDays(1), CertificateFactory.NewSerialNumber(), [new X509BasicConstraintsExtension(false, false, 0, true)]);
            (X509SignatureGenerator generator, HashAlgorithmName hash) = CertificateFactory.SignerFor(lease.Key, lease.RsaPadding);
            crl = new CertificateRevocationListBuilder().Build(issuing.SubjectName, generator, BigInteger.One, now.AddDays(1), hash,
                CertificateFactory.AuthorityKeyIdentifierFor(issuing), now);
        }

        using (leaf)
        {
            await PemCredentialFiles.WriteCertificatesAsync(directory.File("root.pem"), [root], CancellationToken.None);
            await PemCredentialFiles.WriteCertificatesAsync(directory.File("issuing.pem"), [issuing], CancellationToken.None);
            await PemCredentialFiles.WriteCertificatesAsync(directory.File("leaf.pem"), [leaf], CancellationToken.None);
            await File.WriteAllBytesAsync(directory.File("crl.der"), crl);

            string verified = await OpenSsl.RunAsync(directory.Path, "verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem");
            Assert.Contains("leaf.pem: OK", verified);
            string crlCheck = await OpenSsl.RunAsync(directory.Path, "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuing.pem", "-noout");
            Assert.Contains("verify OK", crlCheck);
            string text = await OpenSsl.RunAsync(directory.Path, "x509", "-in", "leaf.pem", "-noout", "-text");
            Assert.Contains(keyType switch
            {
                Pkcs11KeyType.EcP256 => "ecdsa-with-SHA256",
                Pkcs11KeyType.EcP384 => "ecdsa-with-SHA384",
                _ => padding == Pkcs11RsaPadding.Pss ? "rsassaPss" : "sha256WithRSAEncryption",
            }, text);
        }
    }

    [Fact]
    public async Task ExistingKey_IsFoundByLabelOrId_AndNotGeneratedAgain()
    {
        Pkcs11KeyOptions options = await NewTokenAsync(o => o.KeyId = "c0ffee01");
        byte[] first;
        using (CaSigningKey created = await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None))
        {
            first = created.PublicKey.ExportSubjectPublicKeyInfo();
        }

        using CaSigningKey byLabel = await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None);
        Assert.Equal(first, byLabel.PublicKey.ExportSubjectPublicKeyInfo());
        options.KeyLabel = null;
        using CaSigningKey byId = await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: false, CancellationToken.None);
        Assert.Equal(first, byId.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task WrongPin_IsRefusedWithItsReason()
    {
        Pkcs11KeyOptions options = await NewTokenAsync(o => o.PinFile = null);
        string variable = "COAPENROLL_TEST_PIN_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, "0000");
        options.PinEnvironmentVariable = variable;

        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None));

        Assert.Equal(CaConfigurationProblem.WrongPin, ex.Problem);
        Assert.Contains("CKR_PIN_INCORRECT", ex.Message);
        Assert.Contains(variable, ex.Message);
        Assert.DoesNotContain("0000", ex.Message);
    }

    [Fact]
    public async Task MissingKey_IsNamed_AndNotCreatedWithoutInit()
    {
        Pkcs11KeyOptions options = await NewTokenAsync();

        var ex = await Assert.ThrowsAsync<CaConfigurationException>(() => new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: false, CancellationToken.None));

        Assert.Equal(CaConfigurationProblem.KeyMissing, ex.Problem);
        Assert.Contains($"key '{options.KeyLabel}'", ex.Message);
        Assert.Contains("coapenroll ca init", ex.Message);
    }

    [Fact]
    public async Task MissingToken_AndMissingModule_AreNamed()
    {
        Pkcs11KeyOptions options = await NewTokenAsync();
        options.TokenLabel = "no-such-token";
        var token = await Assert.ThrowsAsync<CaConfigurationException>(() => new Pkcs11KeyProvider(options).OpenAsync(true, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.TokenUnavailable, token.Problem);
        Assert.Contains("no token labelled 'no-such-token'", token.Message);

        options.Module = "/nonexistent/libpkcs11.so";
        var module = await Assert.ThrowsAsync<CaConfigurationException>(() => new Pkcs11KeyProvider(options).OpenAsync(true, CancellationToken.None));
        Assert.Equal(CaConfigurationProblem.TokenUnavailable, module.Problem);
    }

    [Theory]
    [InlineData("KeyType", "Ec256", "Ca:Pkcs11:KeyType is one of EcP256, EcP384, Rsa2048, Rsa3072")]
    [InlineData("RsaPadding", "oaep", "Ca:Pkcs11:RsaPadding is one of Pkcs1, Pss")]
    [InlineData("KeyType", "7", "Ca:Pkcs11:KeyType is one of EcP256, EcP384, Rsa2048, Rsa3072")]
    [InlineData("KeyType", "EcP384,Rsa2048", "Ca:Pkcs11:KeyType is one of EcP256, EcP384, Rsa2048, Rsa3072")]
    public void AValueNotInTheList_SaysWhichAreTaken(string key, string value, string expected)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ca:Pkcs11:Module"] = "m", ["Ca:Pkcs11:TokenLabel"] = "t", ["Ca:Pkcs11:KeyLabel"] = "k", ["Ca:Pkcs11:PinFile"] = "f",
            [$"Ca:Pkcs11:{key}"] = value,
        }).Build();
        var refused = Assert.Throws<CaConfigurationException>(() => Pkcs11KeyOptions.Bind(configuration));
        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        Assert.Equal(CaConfigurationProblem.InvalidSetting, refused.Problem);
    }

    [Fact]
    public void Settings_ThatContradictOrLack_AreRefused()
    {
        Assert.Contains("Module", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { TokenLabel = "t", KeyLabel = "k", PinFile = "f" }.Validate()).Message);
        Assert.Contains("TokenLabel", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", Slot = 1, KeyLabel = "k", PinFile = "f" }.Validate()).Message);
        Assert.Contains("KeyLabel", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", PinFile = "f" }.Validate()).Message);
        Assert.Contains("PinEnvironmentVariable", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", KeyLabel = "k", PinFile = "f", PinEnvironmentVariable = "V" }.Validate()).Message);
        Assert.Contains("KeyId", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", KeyId = "xyz", PinFile = "f" }.Validate()).Message);
        Assert.Contains("PinEnvironmentVariable", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", KeyLabel = "k" }.Validate()).Message);
        Assert.Contains("MaxSessions", Assert.Throws<CaConfigurationException>(() => new Pkcs11KeyOptions { Module = "m", TokenLabel = "t", KeyLabel = "k", PinFile = "f", MaxSessions = 0 }.Validate()).Message);
    }

    [Fact]
    public async Task LostSessions_FailWithUnavailable_ThenTheKeyReconnects()
    {
        Pkcs11KeyOptions options = await NewTokenAsync();
        using var key = (Pkcs11SigningKey)Pkcs11SigningKey.Open(options, createIfMissing: true, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        byte[] hash = SHA256.HashData("tbs"u8);
        using (CaSigningLease lease = await key.AcquireAsync(CancellationToken.None))
        {
            ((ECDsa)lease.Key).SignHash(hash);
        }

        key.CloseAllSessionsOfTheToken();

        using (CaSigningLease lease = await key.AcquireAsync(CancellationToken.None))
        {
            var lost = Assert.Throws<CaKeyUnavailableException>(() => ((ECDsa)lease.Key).SignHash(hash));
            Assert.Contains("CKR_SESSION_HANDLE_INVALID", lost.Message);
        }

        // The next signer reconnects (a new login session, the key found again and checked to be the same).
        using (CaSigningLease lease = await key.AcquireAsync(CancellationToken.None))
        {
            byte[] signature = ((ECDsa)lease.Key).SignHash(hash);
            using ECDsa verifier = ECDsa.Create();
            verifier.ImportSubjectPublicKeyInfo(key.PublicKey.ExportSubjectPublicKeyInfo(), out _);
            Assert.True(verifier.VerifyHash(hash, signature));
        }
    }

    [Fact]
    public async Task Reconnects_AtMostOnceASecond_OnTheKeysClock()
    {
        // The key's clock stands still unless the test moves it: whether a reconnect is attempted depends on it alone, not on how
        // fast this machine runs the steps.
        (ManualClock clock, _, Pkcs11SigningKey opened) = await OpenOnManualClockAsync();
        using Pkcs11SigningKey key = opened;
        byte[] hash = SHA256.HashData("tbs"u8);
        await SignAsync(key, hash);

        // First loss: the reconnect is attempted at once (none was attempted before) and succeeds.
        await LoseSessionsAsync(key, hash);
        await SignAsync(key, hash);

        // Second loss in the same second: the token is back, but no reconnect is attempted yet.
        await LoseSessionsAsync(key, hash);
        var limited = await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));
        Assert.Contains("reconnecting", limited.Message);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));

        // A second after the last attempt the next signer reconnects.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await SignAsync(key, hash);
    }

    [Fact]
    public async Task ATokenThatWentAwayAndCameBack_IsUsedAgain_TheModuleInitializedAgainAfterThreeFailedReconnections()
    {
        (ManualClock clock, Pkcs11KeyOptions options, Pkcs11SigningKey opened) = await OpenOnManualClockAsync();
        using Pkcs11SigningKey key = opened;
        byte[] hash = SHA256.HashData("tbs"u8);
        await SignAsync(key, hash);

        // SoftHSM2 keeps each token in a directory of its own; an unplugged token is one that directory gone.
        string tokens = Path.Combine(Path.GetDirectoryName(SoftHsm.ConfigurationFile)!, "tokens");
        string directory = Directory.GetDirectories(tokens)
            .Single(d => File.ReadAllText(Path.Combine(d, "token.object"), System.Text.Encoding.Latin1).Contains(options.TokenLabel!, StringComparison.Ordinal));
        Directory.Move(directory, directory + ".away");
        await SignFailsAsync(key, hash);

        Assert.False(key.IsAvailable);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));

        // Back: SoftHSM2 answers CKR_GENERAL_ERROR for it until the module is initialized again, which the third attempt in a row does.
        Directory.Move(directory + ".away", directory);
        clock.Advance(TimeSpan.FromSeconds(1));
        var stale = await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));
        Assert.Contains("CKR_GENERAL_ERROR", stale.Message, StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromSeconds(1));
        await SignAsync(key, hash);
        Assert.True(key.IsAvailable);
    }

    [Fact]
    public async Task ATokenThatNowRefusesThePin_IsNotTriedAgain_SoThatRetriesCannotLockIt()
    {
        (ManualClock clock, Pkcs11KeyOptions options, Pkcs11SigningKey opened) = await OpenOnManualClockAsync();
        using Pkcs11SigningKey key = opened;
        byte[] hash = SHA256.HashData("tbs"u8);
        await SignAsync(key, hash);

        // The token is replaced by one of the same label with another user PIN (and without the key).
        await SoftHsm.RunUtilAsync("--delete-token", "--token", options.TokenLabel!);
        await SoftHsm.InitTokenAsync(options.TokenLabel!, "135790");
        await SignFailsAsync(key, hash);

        // Reconnection attempts, a second apart, until the token answers (the module is initialized again on the third): it refuses the PIN.
        CaKeyUnavailableException? refused = null;
        for (int attempt = 0; attempt < 6 && refused is null; attempt++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var failed = await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));
            refused = failed.Message.Contains("refused the user PIN", StringComparison.Ordinal) ? failed : null;
        }

        Assert.NotNull(refused);
        Assert.Contains("not tried again until the server restarts", refused.Message, StringComparison.Ordinal);

        // From now on no attempt reaches the token, however much time passes: each answer is the one it gave.
        clock.Advance(TimeSpan.FromMinutes(5));
        var later = await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await key.AcquireAsync(CancellationToken.None));
        Assert.Equal(refused.Message, later.Message);
        Assert.Null(later.InnerException);
        Assert.False(key.IsAvailable);
    }

    private static async Task LoseSessionsAsync(Pkcs11SigningKey key, byte[] hash)
    {
        key.CloseAllSessionsOfTheToken();
        await SignFailsAsync(key, hash);
    }

    /// <summary>A lease is given, and the signature with it meets the loss.</summary>
    private static async Task SignFailsAsync(Pkcs11SigningKey key, byte[] hash)
    {
        using CaSigningLease lease = await key.AcquireAsync(CancellationToken.None);
        Assert.Throws<CaKeyUnavailableException>(() => ((ECDsa)lease.Key).SignHash(hash));
    }

    /// <summary>A key on a new token, on a clock that stands still unless the test moves it.</summary>
    private static async Task<(ManualClock Clock, Pkcs11KeyOptions Options, Pkcs11SigningKey Key)> OpenOnManualClockAsync()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        Pkcs11KeyOptions options = await NewTokenAsync();
        var key = (Pkcs11SigningKey)Pkcs11SigningKey.Open(options, createIfMissing: true, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, clock);
        return (clock, options, key);
    }

    private static async Task SignAsync(Pkcs11SigningKey key, byte[] hash)
    {
        using CaSigningLease lease = await key.AcquireAsync(CancellationToken.None);
        byte[] signature = ((ECDsa)lease.Key).SignHash(hash);
        using ECDsa verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(key.PublicKey.ExportSubjectPublicKeyInfo(), out _);
        Assert.True(verifier.VerifyHash(hash, signature));
    }

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    [Fact]
    public async Task ConcurrentSigners_ShareABoundedPoolOfSessions()
    {
        Pkcs11KeyOptions options = await NewTokenAsync(o => o.MaxSessions = 2);
        using CaSigningKey key = await new Pkcs11KeyProvider(options).OpenAsync(createIfMissing: true, CancellationToken.None);
        using ECDsa verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(key.PublicKey.ExportSubjectPublicKeyInfo(), out _);
        int concurrent = 0;
        int peak = 0;

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            using CaSigningLease lease = await key.AcquireAsync(CancellationToken.None);
            int now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref peak, now);
            byte[] data = BitConverter.GetBytes(i);
            byte[] signature = ((ECDsa)lease.Key).SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
            await Task.Delay(5);
            Interlocked.Decrement(ref concurrent);
            Assert.True(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        })));

        Assert.InRange(peak, 1, 2);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>A new token with user PIN <see cref="Pin"/> (in a PIN file) and options naming it and key label "issuing".</summary>
    internal static async Task<Pkcs11KeyOptions> NewTokenAsync(Action<Pkcs11KeyOptions>? configure = null)
    {
        string label = "t" + Guid.NewGuid().ToString("N")[..20];
        await SoftHsm.InitTokenAsync(label, Pin);
        string pinFile = Path.Combine(Path.GetDirectoryName(SoftHsm.ConfigurationFile)!, label + ".pin");
        await File.WriteAllTextAsync(pinFile, Pin + "\n");
        var options = new Pkcs11KeyOptions { Module = SoftHsm.ModulePath, TokenLabel = label, KeyLabel = "issuing", PinFile = pinFile };
        configure?.Invoke(options);
        return options;
    }
}
