namespace CoapEnroll.Ca;

/// <summary>Where the CA keeps its files inside the data directory.</summary>
public sealed class CaDataLayout
{
    public CaDataLayout(string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, "Ca:DataDirectory is empty");
        }

        DataDirectory = Path.GetFullPath(dataDirectory);
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary><c>DIR/trust-anchor.pem</c>: the root CA certificate handed to clients.</summary>
    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    /// <summary><c>DIR/ca</c>, mode 0700.</summary>
    public string CaDirectory => Path.Combine(DataDirectory, "ca");

    /// <summary><c>DIR/ca/root.key</c>.</summary>
    public string RootKey => Path.Combine(CaDirectory, "root.key");

    /// <summary><c>DIR/ca/issuing.pem</c>.</summary>
    public string IssuingCertificate => Path.Combine(CaDirectory, "issuing.pem");

    /// <summary><c>DIR/ca/issuing.key</c>.</summary>
    public string IssuingKey => Path.Combine(CaDirectory, "issuing.key");

    /// <summary><c>DIR/ca/new-root.key</c>: the key of the new root after <c>coapenroll ca rollover</c> (RFC 9810 §4.4).</summary>
    public string NewRootKey => Path.Combine(CaDirectory, "new-root.key");

    /// <summary><c>DIR/ca/new-with-new.pem</c>: the new root CA certificate, self-signed; written last, so it marks a complete rollover.</summary>
    public string NewWithNew => Path.Combine(CaDirectory, "new-with-new.pem");

    /// <summary><c>DIR/ca/new-with-old.pem</c>: the new root's key signed with the old root key.</summary>
    public string NewWithOld => Path.Combine(CaDirectory, "new-with-old.pem");

    /// <summary><c>DIR/ca/old-with-new.pem</c>: the old root's key signed with the new root key.</summary>
    public string OldWithNew => Path.Combine(CaDirectory, "old-with-new.pem");

    /// <summary><c>DIR/server.pem</c>: server certificate followed by the issuing CA.</summary>
    public string ServerCertificate => Path.Combine(DataDirectory, "server.pem");

    /// <summary><c>DIR/server.key</c>.</summary>
    public string ServerKey => Path.Combine(DataDirectory, "server.key");

    /// <summary><c>DIR/demo</c>.</summary>
    public string DemoDirectory => Path.Combine(DataDirectory, "demo");

    /// <summary><c>DIR/demo/manufacturer-ca.pem</c>.</summary>
    public string ManufacturerCaCertificate => Path.Combine(DemoDirectory, "manufacturer-ca.pem");

    /// <summary><c>DIR/demo/manufacturer-ca.key</c>.</summary>
    public string ManufacturerCaKey => Path.Combine(DemoDirectory, "manufacturer-ca.key");

    /// <summary><c>DIR/demo/device.pem</c>: the demo IDevID (CN=demo-device-1, serialNumber=DEMO-0001) issued by the demo manufacturer CA.</summary>
    public string DemoDeviceCertificate => Path.Combine(DemoDirectory, "device.pem");

    /// <summary><c>DIR/demo/device.key</c>.</summary>
    public string DemoDeviceKey => Path.Combine(DemoDirectory, "device.key");

    /// <summary>
    /// <c>DIR/.first-start-hints</c>: made with the CA, removed once <c>serve</c> has started and printed how to enroll the demo
    /// device, so that a first start that fails after making the CA (a port in use) still leads to the hints on the next one.
    /// </summary>
    public string FirstStartHintsPending => Path.Combine(DataDirectory, ".first-start-hints");

    /// <summary><c>DIR/coapenroll.db</c>: the SQLite certificate store.</summary>
    public string Database => Path.Combine(DataDirectory, "coapenroll.db");
}
