package simulator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quotaexporter/quota_exporter/vendor_clients/vzicloud"
)

// The simulator keeps its own copy of the vendor's documented filter and
// page size (it cannot import the client, whose tests import it); this
// holds the copy to the client's facts.
func TestVZICloudFactsMatchTheClient(t *testing.T) {
	require.Equal(t, vzicloud.WhereKeys, vzicloudWhereKeys)
	require.Equal(t, vzicloud.WhereOps, vzicloudWhereOps)
	require.Equal(t, vzicloud.MaxPageSize, vzicloudMaxPageSize)
}
