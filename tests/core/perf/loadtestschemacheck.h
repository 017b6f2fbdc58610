// Where the load-test result schema is (validated with support/schemacheck.h); shared by the
// library and CLI tests.
#pragma once

#include "../../support/schemacheck.h"

#include <QtCore/QString>

namespace opsdeck::test {

inline QString loadTestSchemaPath()
{
    return QStringLiteral(OPSDECK_SCHEMA_DIR "/load_test.schema.json");
}

} // namespace opsdeck::test
