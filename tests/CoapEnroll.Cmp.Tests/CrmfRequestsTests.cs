using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CmpPop = CoapEnroll.Cmp.ProofOfPossession;

namespace CoapEnroll.Cmp.Tests;

public sealed class CrmfRequestsTests : IClassFixture<CrmfRequestsTests.Fixture>
{
    private readonly Fixture _f;

    public CrmfRequestsTests(Fixture f) => _f = f;

    public sealed class Fixture : IDisposable
    {
        private readonly Dictionary<string, CertReqMsg> _messages = [];

        public OpenSslMessages Ssl { get; } = new();

        /// <summary>The CertReqMsg of an openssl ir for a new key of the given kind ("p256", "p384", "rsa"), made once.</summary>
        public CertReqMsg Ir(string kind, params string[] extra)
        {
            string cacheKey = kind + string.Join(' ', extra);
            lock (_messages)
            {
                if (!_messages.TryGetValue(cacheKey, out CertReqMsg? message))
                {
                    string key = kind switch
                    {
                        "p256" => Ssl.NewKey("p256.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"),
                        "p384" => Ssl.NewKey("p384.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"),
                        "rsa" => Ssl.NewKey("rsa.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"),
                        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
                    };
                    var (reqs, _) = Ssl.Exchange("ir", ["-newkey", key, "-subject", "/CN=dev", "-sans", "dev.example", "-implicit_confirm", .. extra]);
                    CmpDecodeResult decoded = PkiMessageCodec.Decode(Assert.Single(reqs));
                    Assert.True(decoded.IsSuccess, decoded.Reason);
                    message = Assert.Single(Assert.IsType<CertReqMessagesBody>(decoded.Message!.Body).Requests);
                    _messages[cacheKey] = message;
                }

                return message;
            }
        }

        public void Dispose() => Ssl.Dispose();
    }

    [Theory]
    [InlineData("p256", "1.2.840.10045.2.1")]
    [InlineData("p384", "1.2.840.10045.2.1")]
    [InlineData("rsa", "1.2.840.113549.1.1.1")]
    public void OpenSslIrConvertsWithAVerifiedSignatureProof(string kind, string keyOid)
    {
        CertReqMsg message = _f.Ir(kind);
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.IsSuccess, conversion.Detail);
        Assert.Equal(PkiFailureInfo.None, conversion.Failure);
        Assert.Null(conversion.Detail);
        Assert.False(conversion.CentralKeyGeneration);
        CertificationRequest request = conversion.Request!;
        Assert.Equal(CertificationRequestFormat.Crmf, request.Format);
        Assert.Equal(message.CertReq.GetEncoded().ToArray(), request.Encoded.ToArray());
        Assert.Equal("CN=dev", request.Subject.Name);
        Assert.Equal(keyOid, request.PublicKey!.Oid.Value);
        Assert.Equal(message.CertReq.Template.PublicKey!.Value.ToArray(), request.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.NotNull(request.SubjectAltName);
        Assert.Equal("dev.example", Assert.Single(GeneralName.TryDecodeAll(request.SubjectAltName)!).Value);
        Assert.Empty(request.Attributes);
        Assert.Equal(ProofOfPossessionMethod.Signature, request.ProofOfPossession!.Method);
        Assert.Equal(HashAlgorithmName.SHA256, request.ProofOfPossession.SignatureHashAlgorithm);
        Assert.True(request.ProofOfPossession.Check().IsVerified);
        Assert.True(request.TryCheckTemplate(out _, out string? detail), detail);
    }

    [Fact]
    public void TamperedTemplateIsBadPop()
    {
        CertReqMsg message = _f.Ir("p256");
        CertTemplate t = message.CertReq.Template;
        var other = new X500DistinguishedName("CN=other");
        var tampered = new CertReqMsg
        {
            CertReq = new CertRequest
            {
                CertReqId = message.CertReq.CertReqId,
                Template = new CertTemplate { Subject = other.RawData, PublicKey = t.PublicKey, Extensions = t.Extensions },
                Controls = message.CertReq.Controls,
            },
            Popo = message.Popo,
        };
        CrmfConversion conversion = CrmfRequests.Convert(tampered);
        Assert.False(conversion.IsSuccess);
        Assert.Null(conversion.Request);
        Assert.Equal(PkiFailureInfo.BadPop, conversion.Failure);
        Assert.Contains("does not verify", conversion.Detail);
    }

    [Fact]
    public void SignatureFromAnotherKeyIsBadPop()
    {
        CertReqMsg p256 = _f.Ir("p256");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var message = new CertReqMsg
        {
            CertReq = new CertRequest
            {
                Template = new CertTemplate { Subject = p256.CertReq.Template.Subject, PublicKey = other.ExportSubjectPublicKeyInfo() },
            },
            Popo = p256.Popo,
        };
        Assert.Equal(PkiFailureInfo.BadPop, CrmfRequests.Convert(message).Failure);
    }

    [Fact]
    public void OwnSignatureOverFreshlyEncodedCertRequestVerifies()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertRequest
        {
            CertReqId = 7,
            Template = new CertTemplate { Subject = new X500DistinguishedName("CN=me").RawData, PublicKey = key.ExportSubjectPublicKeyInfo() },
        };
        byte[] signature = key.SignData(request.GetEncoded().Span, HashAlgorithmName.SHA384, DSASignatureFormat.Rfc3279DerSequence);
        var message = new CertReqMsg
        {
            CertReq = request,
            Popo = new CmpPop
            {
                Kind = ProofOfPossessionKind.Signature,
                SignatureAlgorithm = new CmpAlgorithmIdentifier { Algorithm = "1.2.840.10045.4.3.3" },
                Signature = signature,
            },
        };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.IsSuccess, conversion.Detail);
        Assert.Equal(HashAlgorithmName.SHA384, conversion.Request!.ProofOfPossession!.SignatureHashAlgorithm);
        Assert.Empty(conversion.Request.RequestedExtensions);
    }

    [Fact]
    public void MissingPopIsBadPop()
    {
        CertReqMsg message = _f.Ir("p256");
        CrmfConversion conversion = CrmfRequests.Convert(new CertReqMsg { CertReq = message.CertReq });
        Assert.Equal(PkiFailureInfo.BadPop, conversion.Failure);
        Assert.Contains("missing", conversion.Detail);
    }

    [Fact]
    public void TemplateWithoutKeyIsCentralKeyGeneration()
    {
        var validity = new AsnWriter(AsnEncodingRules.DER);
        using (validity.PushSequence())
        {
            using (validity.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
            {
                validity.WriteGeneralizedTime(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
            }
        }

        var message = new CertReqMsg
        {
            CertReq = new CertRequest
            {
                Template = new CertTemplate
                {
                    Subject = new X500DistinguishedName("CN=central").RawData,
                    Validity = new OptionalValidity { Encoded = validity.Encode() },
                },
            },
        };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.IsSuccess, conversion.Detail);
        Assert.True(conversion.CentralKeyGeneration);
        Assert.Null(conversion.Request!.PublicKey);
        Assert.Null(conversion.Request.ProofOfPossession);
        Assert.Equal("CN=central", conversion.Request.Subject.Name);
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), conversion.RequestedValidity!.NotAfter);
        Assert.Null(conversion.RequestedValidity.NotBefore);
    }

    [Fact]
    public void EmptyKeyBitStringIsCentralKeyGeneration()
    {
        var spki = new AsnWriter(AsnEncodingRules.DER);
        using (spki.PushSequence())
        {
            using (spki.PushSequence())
            {
                spki.WriteObjectIdentifier("1.2.840.10045.2.1");
                spki.WriteObjectIdentifier("1.2.840.10045.3.1.7");
            }

            spki.WriteBitString([]);
        }

        var message = new CertReqMsg { CertReq = new CertRequest { Template = new CertTemplate { PublicKey = spki.Encode() } } };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.IsSuccess, conversion.Detail);
        Assert.True(conversion.CentralKeyGeneration);
        Assert.Null(conversion.Request!.PublicKey);
    }

    [Fact]
    public void TemplateWithoutKeyButWithPopIsBadPop()
    {
        CertReqMsg p256 = _f.Ir("p256");
        var message = new CertReqMsg { CertReq = new CertRequest { Template = new CertTemplate { Subject = p256.CertReq.Template.Subject } }, Popo = p256.Popo };
        Assert.Equal(PkiFailureInfo.BadPop, CrmfRequests.Convert(message).Failure);
    }

    [Fact]
    public void TemplateWithoutSubjectHasAnEmptySubject()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertRequest { Template = new CertTemplate { PublicKey = key.ExportSubjectPublicKeyInfo() } };
        var message = new CertReqMsg
        {
            CertReq = request,
            Popo = new CmpPop
            {
                Kind = ProofOfPossessionKind.Signature,
                SignatureAlgorithm = new CmpAlgorithmIdentifier { Algorithm = "1.2.840.10045.4.3.2" },
                Signature = key.SignData(request.GetEncoded().Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            },
        };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.IsSuccess, conversion.Detail);
        Assert.Equal([0x30, 0x00], conversion.Request!.Subject.RawData);
    }

    [Fact]
    public void RaVerifiedFromOpenSslIsRefusedUnlessTheRequesterIsAnRa()
    {
        CertReqMsg message = _f.Ir("p256", "-popo", "0");
        Assert.Equal(ProofOfPossessionKind.RaVerified, message.Popo!.Kind);
        CrmfConversion refused = CrmfRequests.Convert(message);
        Assert.Equal(PkiFailureInfo.BadPop, refused.Failure);
        Assert.Contains("registration authority", refused.Detail);
        CrmfConversion accepted = CrmfRequests.Convert(message, requesterIsRa: true);
        Assert.True(accepted.IsSuccess, accepted.Detail);
        Assert.Equal(ProofOfPossessionMethod.RaVerified, accepted.Request!.ProofOfPossession!.Method);
        Assert.True(accepted.Request.ProofOfPossession.Verify());
    }

    [Fact]
    public void PoposkInputIsRefused()
    {
        CertReqMsg p256 = _f.Ir("p256");
        var message = new CertReqMsg
        {
            CertReq = p256.CertReq,
            Popo = new CmpPop
            {
                Kind = ProofOfPossessionKind.Signature,
                PoposkInput = new byte[] { 0xA0, 0x00 },
                SignatureAlgorithm = p256.Popo!.SignatureAlgorithm,
                Signature = p256.Popo.Signature,
            },
        };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.Equal(PkiFailureInfo.BadPop, conversion.Failure);
        Assert.Contains("poposkInput", conversion.Detail);
    }

    [Theory]
    [InlineData(ProofOfPossessionKind.KeyEncipherment, "keyEncipherment")]
    [InlineData(ProofOfPossessionKind.KeyAgreement, "keyAgreement")]
    public void KeyEnciphermentAndKeyAgreementAreBadPop(ProofOfPossessionKind kind, string name)
    {
        CertReqMsg p256 = _f.Ir("p256");
        var message = new CertReqMsg { CertReq = p256.CertReq, Popo = new CmpPop { Kind = kind, PrivKey = new byte[] { 0x80, 0x00 } } };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.Equal(PkiFailureInfo.BadPop, conversion.Failure);
        Assert.Contains(name, conversion.Detail);
    }

    [Fact]
    public void UnsupportedSignatureAlgorithmIsBadAlg()
    {
        CertReqMsg p256 = _f.Ir("p256");
        var message = new CertReqMsg
        {
            CertReq = p256.CertReq,
            Popo = new CmpPop
            {
                Kind = ProofOfPossessionKind.Signature,
                SignatureAlgorithm = new CmpAlgorithmIdentifier { Algorithm = "1.3.101.112" },
                Signature = p256.Popo!.Signature,
            },
        };
        Assert.Equal(PkiFailureInfo.BadAlg, CrmfRequests.Convert(message).Failure);
    }

    [Fact]
    public void UnsupportedKeyAlgorithmIsBadAlg()
    {
        byte[] ed25519 = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, .. new byte[32]];
        ed25519[^1] = 1;
        CertReqMsg p256 = _f.Ir("p256");
        var message = new CertReqMsg { CertReq = new CertRequest { Template = new CertTemplate { PublicKey = ed25519 } }, Popo = p256.Popo };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.Equal(PkiFailureInfo.BadAlg, conversion.Failure);
    }

    [Fact]
    public void FieldsTheCaAssignsAreBadCertTemplate()
    {
        CertReqMsg p256 = _f.Ir("p256");
        CertTemplate t = p256.CertReq.Template;
        CertTemplate[] templates =
        [
            new() { SerialNumber = new byte[] { 1 }, Subject = t.Subject, PublicKey = t.PublicKey },
            new() { SigningAlg = new CmpAlgorithmIdentifier { Algorithm = "1.2.840.10045.4.3.2" }, Subject = t.Subject, PublicKey = t.PublicKey },
            new() { Version = 1, Subject = t.Subject, PublicKey = t.PublicKey },
        ];
        foreach (CertTemplate template in templates)
        {
            CrmfConversion conversion = CrmfRequests.Convert(new CertReqMsg { CertReq = new CertRequest { Template = template }, Popo = p256.Popo });
            Assert.Equal(PkiFailureInfo.BadCertTemplate, conversion.Failure);
        }
    }

    [Fact]
    public void MalformedKeySubjectAndExtensionsAreRefused()
    {
        CertReqMsg p256 = _f.Ir("p256");
        CertTemplate t = p256.CertReq.Template;
        Assert.Equal(PkiFailureInfo.BadCertTemplate, Convert(new CertTemplate { Subject = t.Subject, PublicKey = new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 } }));
        Assert.Equal(PkiFailureInfo.BadCertTemplate, Convert(new CertTemplate { Subject = new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 }, PublicKey = t.PublicKey }));
        Assert.Equal(PkiFailureInfo.BadDataFormat, Convert(new CertTemplate { Subject = t.Subject, PublicKey = t.PublicKey, Extensions = new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 } }));
        Assert.Equal(PkiFailureInfo.BadDataFormat, Convert(new CertTemplate { Subject = t.Subject, PublicKey = t.PublicKey, Extensions = new byte[] { 0x30, 0x00 } }));

        PkiFailureInfo Convert(CertTemplate template) => CrmfRequests.Convert(new CertReqMsg { CertReq = new CertRequest { Template = template }, Popo = p256.Popo }).Failure;
    }

    [Fact]
    public void MutatedOpenSslRequestsNeverThrow()
    {
        var (reqs, _) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-sans", "a.example", "-implicit_confirm");
        byte[] original = Assert.Single(reqs);
        var random = new Random(4211);
        int converted = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] mutated = (byte[])original.Clone();
            for (int n = random.Next(1, 4); n > 0; n--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            CmpDecodeResult decoded = PkiMessageCodec.Decode(mutated);
            if (decoded.IsSuccess && decoded.Message!.Body is CertReqMessagesBody body)
            {
                foreach (CertReqMsg message in body.Requests)
                {
                    CrmfConversion conversion = CrmfRequests.Convert(message);
                    Assert.Equal(conversion.IsSuccess, conversion.Request is not null);
                    Assert.Equal(conversion.IsSuccess, conversion.Detail is null);
                    converted++;
                }
            }
        }

        Assert.True(converted > 0);
    }

    [Theory]
    [InlineData(PkiFailureInfo.BadAlg, "03020780")]
    [InlineData(PkiFailureInfo.BadPop, "0303060040")]
    [InlineData(PkiFailureInfo.BadRequest | PkiFailureInfo.BadCertTemplate, "030404200010")]
    [InlineData(PkiFailureInfo.DuplicateCertReq, "03050500000020")]
    public void FailInfoEncodesAsMinimalNamedBitList(PkiFailureInfo failure, string bitStringHex)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        new PkiStatusInfo { Status = 2, FailInfo = (int)failure }.WriteTo(writer);
        byte[] der = writer.Encode();
        Assert.EndsWith(bitStringHex.ToUpperInvariant(), Convert.ToHexString(der));
        PkiStatusInfo read = PkiStatusInfo.Read(new AsnReader(der, AsnEncodingRules.DER));
        Assert.Equal((int)failure, read.FailInfo);
    }
}
