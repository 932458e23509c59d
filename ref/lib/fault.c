/*
 * fault.c - the IB_FAULT environment variable of fault builds (see fault.h). Built only with
 * make FAULTS=1.
 */
#ifndef IB_FAULTS
#error "fault.c belongs to fault builds only (make FAULTS=1)"
#endif

#include "fault.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define IB_FAULT_NAME(name, req) #name,
#define IB_FAULT_REQ(name, req) req,
static const char *const fault_names[IB_FAULT__COUNT] = { "none",
							  IB_FAULT_LIST(IB_FAULT_NAME) };
static const char *const fault_reqs[IB_FAULT__COUNT] = { "",
							 IB_FAULT_LIST(IB_FAULT_REQ) };
#undef IB_FAULT_NAME
#undef IB_FAULT_REQ

/* "skip-signature-check" names skip_signature_check. */
static bool names(const char *wanted, const char *name)
{
	for (; *wanted && *name; wanted++, name++)
		if (*wanted != (*name == '_' ? '-' : *name))
			return false;
	return !*wanted && !*name;
}

static void print_hyphenated(FILE *f, const char *name)
{
	for (; *name; name++)
		fputc(*name == '_' ? '-' : *name, f);
}

static void list_faults(void)
{
	for (int i = 1; i < IB_FAULT__COUNT; i++) {
		print_hyphenated(stdout, fault_names[i]);
		printf(" %s\n", fault_reqs[i]);
	}
}

static enum ib_fault parse(const char *value)
{
	if (!value || !*value)
		return IB_FAULT_ID_none;
	if (names(value, "list")) {
		list_faults();
		exit(0);
	}
	for (int i = 1; i < IB_FAULT__COUNT; i++)
		if (names(value, fault_names[i]))
			return (enum ib_fault)i;
	fprintf(stderr, "IB_FAULT=%s: no such fault in this build (IB_FAULT=list names them)\n",
		value);
	exit(2);
}

enum ib_fault ib_fault_from_env(void)
{
	static bool read;
	static enum ib_fault fault;

	if (!read) {
		fault = parse(getenv("IB_FAULT"));
		read = true;
	}
	return fault;
}
